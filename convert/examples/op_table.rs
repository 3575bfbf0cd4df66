//! Prints the op and layer tables of docs/native.md:
//!
//! ```text
//! cargo run -p webinfer-convert --example op_table
//! ```

fn main() {
    print!("{}", webinfer_convert::graph::ops::markdown_table());
    println!();
    print!("{}", webinfer_convert::layers::map::markdown_table());
}

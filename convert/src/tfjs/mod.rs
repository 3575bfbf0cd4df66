//! Reading TF.js model files: `model.json` ([`model_json`]), the files
//! beside it ([`source`]), weights ([`weights`], [`float16`]) and models
//! bundled in JavaScript ([`jsmodule`]).

pub mod float16;
pub mod jsmodule;
pub mod model_json;
pub mod source;
pub mod weights;

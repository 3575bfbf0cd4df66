//! Pass-through trait impls for the stream and body wrappers, written once:
//! [`read_with!`] writes the `AsyncRead` impl around a `poll_read` body,
//! [`forward_read!`] and [`forward_write!`] implement `AsyncRead` /
//! `AsyncWrite` for a wrapper `Type<S>` by calling the same method on one of
//! its fields (vectored writes included: without them every TLS record
//! towards the client, rustls queues several per write, would cost its own
//! `send(2)`), and [`wrap_body!`] implements `http_body::Body` for a wrapper
//! of a [`Body`](crate::types::Body) with its own `poll_frame` and the inner
//! body's end and size hint. The expansions are the plain static calls a
//! hand-written impl would make: no boxing, no dynamic dispatch.

/// `impl<S: AsyncRead + Unpin> AsyncRead for $ty<S>` (with `$ty<'_>`:
/// for `$ty<'_, S>`) whose `poll_read` runs `$poll` with `$this: &mut Self`,
/// `$cx: &mut Context` and `$buf: &mut ReadBuf`.
macro_rules! read_with {
    ($ty:ident $(<$lt:lifetime>)?, poll_read(|$this:ident, $cx:ident, $buf:ident| $poll:block)) => {
        impl<S: ::tokio::io::AsyncRead + Unpin> ::tokio::io::AsyncRead for $ty<$($lt,)? S> {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                $cx: &mut ::std::task::Context<'_>,
                $buf: &mut ::tokio::io::ReadBuf<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self.get_mut();
                $poll
            }
        }
    };
}

/// `impl<S: AsyncRead + Unpin> AsyncRead for $ty<S>`: reads go straight to
/// the field `$field`.
macro_rules! forward_read {
    ($ty:ident . $field:ident) => {
        $crate::forward::read_with!(
            $ty,
            poll_read(|this, cx, buf| {
                ::tokio::io::AsyncRead::poll_read(::std::pin::Pin::new(&mut this.$field), cx, buf)
            })
        );
    };
}

/// `impl<S: AsyncWrite + Unpin> AsyncWrite for $ty<S>`: every write, flush,
/// shutdown and vectored write goes to the field `$field`. With
/// `, then $method`, each result is passed through
/// `self.$method(cx, polled)` (a `fn<T>(&mut self, &mut Context,
/// Poll<io::Result<T>>) -> Poll<io::Result<T>>`) before it is returned.
macro_rules! forward_write {
    ($ty:ident . $field:ident $(, then $then:ident)?) => {
        impl<S: ::tokio::io::AsyncWrite + Unpin> ::tokio::io::AsyncWrite for $ty<S> {
            $crate::forward::forward_write!(@poll $field $(, $then)?; poll_write(buf: &[u8]) -> usize);
            $crate::forward::forward_write!(@poll $field $(, $then)?; poll_flush() -> ());
            $crate::forward::forward_write!(@poll $field $(, $then)?; poll_shutdown() -> ());
            $crate::forward::forward_write!(
                @poll $field $(, $then)?;
                poll_write_vectored(bufs: &[::std::io::IoSlice<'_>]) -> usize
            );
            fn is_write_vectored(&self) -> bool {
                ::tokio::io::AsyncWrite::is_write_vectored(&self.$field)
            }
        }
    };
    // One polling method: `$m` of the field, its result through `$then`.
    (@poll $field:ident $(, $then:ident)?; $m:ident($($arg:ident: $argty:ty)?) -> $out:ty) => {
        fn $m(
            self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
            $($arg: $argty)?
        ) -> ::std::task::Poll<::std::io::Result<$out>> {
            let this = self.get_mut();
            $crate::forward::forward_write!(@then this, cx, $($then,)?
                ::tokio::io::AsyncWrite::$m(::std::pin::Pin::new(&mut this.$field), cx $(, $arg)?))
        }
    };
    (@then $this:ident, $cx:ident, $then:ident, $polled:expr) => {{
        let polled = $polled;
        $this.$then($cx, polled)
    }};
    (@then $this:ident, $cx:ident, $polled:expr) => {
        $polled
    };
}

/// `impl http_body::Body for $ty` (optionally generic over one parameter
/// with one bound) with `Data = Bytes` and `Error = BodyError`; its
/// `is_end_stream` and `size_hint` are those of the field `$field`.
/// - `poll_frame(|this, cx| block)`: `poll_frame` runs the block with
///   `this: &mut Self` and `cx: &mut Context`;
/// - `observe(|this, polled| block)`: `poll_frame` polls `$field`, runs the
///   block with `this: &mut Self` and `polled: &Option<Result<Frame, _>>`
///   once the field is ready, and returns what the field gave.
macro_rules! wrap_body {
    (
        $ty:ident $(<$g:ident: $bound:path>)?, inner $field:ident,
        observe(|$this:ident, $polled:ident| $observe:block)
    ) => {
        $crate::forward::wrap_body!(
            $ty $(<$g: $bound>)?, inner $field,
            poll_frame(|$this, cx| {
                let polled = ::std::task::ready!(::http_body::Body::poll_frame(
                    ::std::pin::Pin::new(&mut $this.$field),
                    cx
                ));
                {
                    let $polled = &polled;
                    $observe
                }
                ::std::task::Poll::Ready(polled)
            })
        );
    };
    (
        $ty:ident $(<$g:ident: $bound:path>)?, inner $field:ident,
        poll_frame(|$this:ident, $cx:ident| $poll:block)
    ) => {
        impl$(<$g: $bound>)? ::http_body::Body for $ty$(<$g>)? {
            type Data = ::bytes::Bytes;
            type Error = $crate::types::BodyError;

            fn poll_frame(
                self: ::std::pin::Pin<&mut Self>,
                $cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<
                Option<Result<::http_body::Frame<::bytes::Bytes>, $crate::types::BodyError>>,
            > {
                let $this = self.get_mut();
                $poll
            }

            fn is_end_stream(&self) -> bool {
                ::http_body::Body::is_end_stream(&self.$field)
            }

            fn size_hint(&self) -> ::http_body::SizeHint {
                ::http_body::Body::size_hint(&self.$field)
            }
        }
    };
}

pub(crate) use {forward_read, forward_write, read_with, wrap_body};

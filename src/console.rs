//! Where a command talks: `Streams` (answers from standard input, text on standard output,
//! warnings on standard error), and `Output`, the writer the binary puts around its real
//! standard output and error.
//!
//! Every write returns its error, and commands pass it on with `?`: a full disk or a closed
//! terminal ends the command with exit status 1 instead of being dropped. A reader that went away
//! (`promsetup ... | head -1`, a broken pipe) is not an error: `Output` stops writing quietly and
//! the command finishes its work, so the exit status still says what happened to the files. This
//! module must not format what is said; the commands and `output/` do.

use std::io::{self, BufRead, Write};

/// The streams a command reads and writes. Tests pass buffers.
pub struct Streams<'a> {
    pub stdin: &'a mut dyn BufRead,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// Standard output or error for the binary: a broken pipe closes it quietly, every other error
/// is returned to the writer.
pub struct Output<W: Write> {
    inner: W,
    reader_gone: bool,
}

impl<W: Write> Output<W> {
    pub fn new(inner: W) -> Output<W> {
        Output {
            inner,
            reader_gone: false,
        }
    }

    /// Whether the reader went away (a write met a broken pipe).
    pub fn reader_gone(&self) -> bool {
        self.reader_gone
    }

    fn absorb<T>(&mut self, result: io::Result<T>, nothing: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.reader_gone = true;
                Ok(nothing)
            }
            other => other,
        }
    }
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.reader_gone {
            return Ok(bytes.len());
        }
        let result = self.inner.write(bytes);
        self.absorb(result, bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.reader_gone {
            return Ok(());
        }
        let result = self.inner.flush();
        self.absorb(result, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails every write with one error kind.
    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(self.0))
        }
    }

    #[test]
    fn a_broken_pipe_ends_the_output_quietly() {
        let mut output = Output::new(Failing(io::ErrorKind::BrokenPipe));
        assert!(writeln!(output, "first").is_ok());
        assert!(output.reader_gone());
        assert!(writeln!(output, "second").is_ok());
        assert!(output.flush().is_ok());
    }

    #[test]
    fn a_full_disk_is_an_error_for_the_command() {
        let mut output = Output::new(Failing(io::ErrorKind::StorageFull));
        let error = writeln!(output, "text").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        assert!(!output.reader_gone());
    }
}

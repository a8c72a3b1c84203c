//! A download's bytes as they arrive, handed to a reader on another thread.
//!
//! Input: the chunks a download writes to the cache, in order. Output: an
//! [`ArrivingBytes`] reader (blocking, for a plain thread) that yields the
//! same bytes, so an sdist can be unpacked while it downloads.
//!
//! Invariants: the reader sees exactly the bytes of one uninterrupted
//! pass over the file. It reaches its end only when the download said the
//! file is complete ([`ByteTee::finish`]); a download that restarts from
//! zero, fails or is served by another task drops its tee, and the reader
//! then fails instead of ending early, so a truncated stream can never look
//! like a complete archive. The digest is checked by the download, not
//! here: whoever reads must wait for the download's verdict before trusting
//! what it read.

use std::io::{self, Read};

use bytes::Bytes;
use tokio::sync::mpsc;

/// Chunks held between the download and a slower reader (each at most the
/// HTTP client's chunk size, about 16 KiB): the download waits beyond it.
const CHUNKS_IN_FLIGHT: usize = 1024;

enum Piece {
    Chunk(Bytes),
    /// The download wrote the whole file.
    End,
}

/// The download's end of a tee.
pub struct ByteTee {
    sender: mpsc::Sender<Piece>,
}

/// The reader's end of a tee: a blocking [`Read`] of the arriving bytes.
pub struct ArrivingBytes {
    receiver: mpsc::Receiver<Piece>,
    current: Bytes,
    ended: bool,
}

/// A tee: the download feeds the first, a thread reads the second.
pub fn byte_tee() -> (ByteTee, ArrivingBytes) {
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let reader = ArrivingBytes {
        receiver,
        current: Bytes::new(),
        ended: false,
    };
    (ByteTee { sender }, reader)
}

impl ByteTee {
    /// Pass on `chunk`; false when the reader has gone (it stopped
    /// reading), so the download need not feed it any longer.
    pub(super) async fn feed(&self, chunk: &Bytes) -> bool {
        self.sender.send(Piece::Chunk(chunk.clone())).await.is_ok()
    }

    /// Tell the reader the file is complete.
    pub(super) async fn finish(self) {
        let _ = self.sender.send(Piece::End).await;
    }
}

impl Read for ArrivingBytes {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() && !self.ended {
            match self.receiver.blocking_recv() {
                Some(Piece::Chunk(chunk)) => self.current = chunk,
                Some(Piece::End) => self.ended = true,
                None => {
                    return Err(io::Error::other(
                        "the download stopped or started over before the file was complete",
                    ))
                }
            }
        }
        let count = buffer.len().min(self.current.len());
        buffer[..count].copy_from_slice(&self.current.split_to(count));
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut reader: ArrivingBytes) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map(|_| out)
    }

    #[test]
    fn the_reader_gets_every_chunk_in_order_then_the_end() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (tee, reader) = byte_tee();
        let reading = std::thread::spawn(move || read_all(reader));
        runtime.block_on(async {
            for chunk in [&b"ab"[..], b"", b"cde"] {
                assert!(tee.feed(&Bytes::copy_from_slice(chunk)).await);
            }
            tee.finish().await;
        });
        assert_eq!(reading.join().unwrap().unwrap(), b"abcde");
    }

    #[test]
    fn a_tee_dropped_before_the_end_is_an_error_not_an_early_end() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (tee, reader) = byte_tee();
        let reading = std::thread::spawn(move || read_all(reader));
        runtime.block_on(async {
            assert!(tee.feed(&Bytes::from_static(b"partial")).await);
            drop(tee);
        });
        let error = reading.join().unwrap().unwrap_err();
        assert!(error.to_string().contains("before the file was complete"));
    }

    #[test]
    fn a_reader_that_has_gone_tells_the_download_to_stop_feeding() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (tee, reader) = byte_tee();
        drop(reader);
        assert!(!runtime.block_on(tee.feed(&Bytes::from_static(b"x"))));
    }
}

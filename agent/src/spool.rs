//! A received chart's bytes: in memory, or, for an upload big enough to
//! come on a chart connection, in an unnamed file in berthd's data
//! directory, written as the bytes arrive. A spooled chart is read front to
//! back twice (unpacked to render it, then copied into the journal's file
//! of it), so berthd never holds it whole. A chart the journal holds as a
//! file is read from that file the same way.

use std::fs::File;
use std::io::{Read, Seek};

use bytes::Bytes;

pub enum ChartBytes {
    Memory(Bytes),
    /// The file has no name (it is gone once closed, a crash included).
    Spooled {
        file: File,
        len: u64,
    },
}

impl ChartBytes {
    pub fn len(&self) -> u64 {
        match self {
            ChartBytes::Memory(b) => b.len() as u64,
            ChartBytes::Spooled { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes from the first one on. A spooled chart's file has one
    /// position, so a reader borrows the chart: one at a time.
    pub fn reader(&mut self) -> std::io::Result<Box<dyn Read + Send + '_>> {
        match self {
            ChartBytes::Memory(b) => Ok(Box::new(&b[..])),
            ChartBytes::Spooled { file, len } => {
                file.rewind()?;
                Ok(Box::new(file.take(*len)))
            }
        }
    }
}

impl From<Bytes> for ChartBytes {
    fn from(b: Bytes) -> Self {
        ChartBytes::Memory(b)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::ChartBytes;

    #[test]
    fn a_spooled_chart_reads_from_its_start_each_time() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        let mut chart = ChartBytes::Spooled { file, len: 10 };
        for _ in 0..2 {
            let mut got = Vec::new();
            chart.reader().unwrap().read_to_end(&mut got).unwrap();
            assert_eq!(got, b"0123456789");
        }
        assert_eq!(chart.len(), 10);
    }
}

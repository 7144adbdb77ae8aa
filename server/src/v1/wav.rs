//! The length of a WAV recording from its header, for transcriptions whose answer does not say
//! how long the audio was: its data chunk's size over the format's bytes per second.

/// Seconds of audio in a RIFF/WAVE file whose first bytes are `head`; `None` for anything else
/// (other formats, a header cut short, a data chunk beyond `head` with no size).
pub fn seconds(head: &[u8]) -> Option<f64> {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?))
    };
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= head.len() {
        let id = &head[at..at + 4];
        let size = u32_at(at + 4)?;
        match id {
            b"fmt " => byte_rate = u32_at(at + 8 + 8).filter(|r| *r > 0),
            b"data" => {
                // Streaming writers leave the size unknown (0 or all ones).
                if size == 0 || size == u32::MAX {
                    return None;
                }
                return Some(f64::from(size) / f64::from(byte_rate?));
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = at.checked_add(8 + usize::try_from(size).ok()? + (size as usize & 1))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(sample_rate: u32, channels: u16, bits: u16, data: u32) -> Vec<u8> {
        let block = channels * bits / 8;
        let mut h = Vec::new();
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&data.wrapping_add(36).to_le_bytes());
        h.extend_from_slice(b"WAVE");
        h.extend_from_slice(b"LIST");
        h.extend_from_slice(&3u32.to_le_bytes());
        h.extend_from_slice(b"abc\0");
        h.extend_from_slice(b"fmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&sample_rate.to_le_bytes());
        h.extend_from_slice(&(sample_rate * u32::from(block)).to_le_bytes());
        h.extend_from_slice(&block.to_le_bytes());
        h.extend_from_slice(&bits.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
        h
    }

    #[test]
    fn a_wav_header_tells_its_length() {
        // 16 kHz mono 16-bit: 32,000 bytes a second.
        assert_eq!(seconds(&wav(16_000, 1, 16, 96_000)), Some(3.0));
        assert_eq!(seconds(&wav(44_100, 2, 16, 176_400)), Some(1.0));
        assert_eq!(seconds(&wav(16_000, 1, 16, u32::MAX)), None);
        assert_eq!(seconds(b"ID3\x04 an mp3"), None);
        assert_eq!(seconds(&wav(16_000, 1, 16, 96_000)[..30]), None);
    }
}

//! The length of an uploaded recording, for transcriptions whose answer does not say how long
//! the audio was: read from its container (WAV, MP3, MP4/M4A, Ogg, FLAC, Matroska/WebM) by
//! demuxing it, never decoding. The header's frame count where it has one; else the packets'
//! durations, summed.

use std::{fs::File, path::Path};

use symphonia::core::{
    formats::FormatOptions, io::MediaSourceStream, meta::MetadataOptions, probe::Hint,
};

/// Seconds of audio in the file at `path`, named `file_name` by the client (its extension is a
/// hint); `None` for what no demuxer here reads.
pub fn seconds(path: &Path, file_name: Option<&str>) -> Option<f64> {
    let source = MediaSourceStream::new(Box::new(File::open(path).ok()?), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = file_name.and_then(|f| Path::new(f).extension()?.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .format(
            &hint,
            source,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .ok()?
        .format;
    let track = format.default_track()?;
    let (id, params) = (track.id, track.codec_params.clone());
    let time_base = params.time_base.or_else(|| {
        params
            .sample_rate
            .map(|rate| symphonia::core::units::TimeBase::new(1, rate))
    })?;
    let frames = match params.n_frames {
        Some(n) => n,
        None => {
            let mut total = 0u64;
            while let Ok(packet) = format.next_packet() {
                if packet.track_id() == id {
                    total = total.saturating_add(packet.dur);
                }
            }
            total
        }
    };
    let time = time_base.calc_time(frames);
    // Seconds of a recording fit an f64 exactly.
    #[allow(clippy::cast_precision_loss)]
    let seconds = time.seconds as f64 + time.frac;
    (seconds > 0.0).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(sample_rate: u32, data: u32) -> Vec<u8> {
        let mut h = Vec::new();
        for part in [
            &b"RIFF"[..],
            &(36 + data).to_le_bytes(),
            b"WAVEfmt ",
            &16u32.to_le_bytes(),
            &1u16.to_le_bytes(),
            &1u16.to_le_bytes(),
            &sample_rate.to_le_bytes(),
            &(sample_rate * 2).to_le_bytes(),
            &2u16.to_le_bytes(),
            &16u16.to_le_bytes(),
            b"data",
            &data.to_le_bytes(),
        ] {
            h.extend_from_slice(part);
        }
        h.resize(h.len() + data as usize, 0);
        h
    }

    #[test]
    fn a_recordings_length_comes_from_its_container() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        // 16 kHz mono 16-bit: 32,000 bytes a second.
        std::fs::write(&path, wav(16_000, 96_000)).unwrap();
        assert_eq!(seconds(&path, Some("talk.wav")), Some(3.0));
        assert_eq!(seconds(&path, None), Some(3.0));
        // 100 MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz, without a Xing header: their
        // length is found by reading the frames.
        let frame: Vec<u8> = [0xFF, 0xFB, 0x90, 0xC0]
            .into_iter()
            .chain(std::iter::repeat_n(0, 413))
            .collect();
        std::fs::write(&path, frame.repeat(100)).unwrap();
        let mp3 = seconds(&path, Some("talk.mp3")).expect("an mp3's length");
        assert!((mp3 - 100.0 * 1152.0 / 44_100.0).abs() < 0.1, "{mp3}");
        std::fs::write(&path, b"not audio at all").unwrap();
        assert_eq!(seconds(&path, Some("talk.mp3")), None);
    }
}

//! The safetensors layout: an 8-byte little-endian header length, a JSON
//! header (tensor name → dtype, shape, byte offsets, plus `__metadata__`),
//! padded with spaces to a multiple of 8, then the raw little-endian data.
//!
//! Writing is done here rather than by `safetensors::serialize` so that the
//! metadata is written in key order: the same model always gives the same
//! bytes. Reading goes through `safetensors::SafeTensors::read_metadata`,
//! after a first pass of our own that gives clearer messages for truncated
//! files and rules out offsets whose sum would overflow.

use std::collections::BTreeMap;

use ndarray::ArrayViewD;
use nn_core::Float;
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use crate::Metadata;
use crate::elements::{dtype_of, extend_le};

/// Size of the header-length prefix.
const PREFIX: usize = 8;

/// One tensor of a parsed file, its data borrowed from the file's bytes.
pub(crate) struct RawTensor<'a> {
    /// Element type.
    pub(crate) dtype: Dtype,
    /// Shape, row-major.
    pub(crate) shape: Vec<usize>,
    /// Little-endian elements, exactly as many bytes as shape and dtype say.
    pub(crate) data: &'a [u8],
}

/// A parsed file: its tensors by name and its metadata.
pub(crate) struct Parsed<'a> {
    pub(crate) tensors: BTreeMap<String, RawTensor<'a>>,
    pub(crate) metadata: Metadata,
}

/// The bytes of a safetensors file holding `tensors`, in name order, and `metadata`.
///
/// # Errors
/// The repeated name if two tensors share one.
pub(crate) fn to_bytes<F: Float>(
    mut tensors: Vec<(String, ArrayViewD<'_, F>)>,
    metadata: &Metadata,
) -> Result<Vec<u8>, String> {
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = tensors.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(pair[0].0.clone());
    }
    let dtype = dtype_of::<F>();
    let element = dtype.bitsize() / 8;
    let mut entries = Vec::with_capacity(tensors.len() + 1);
    if !metadata.is_empty() {
        let pairs: Vec<String> =
            metadata.as_map().iter().map(|(k, v)| format!("{}:{}", quoted(k), quoted(v))).collect();
        entries.push(format!("\"__metadata__\":{{{}}}", pairs.join(",")));
    }
    let mut offset = 0;
    for (name, array) in &tensors {
        let end = offset + array.len() * element;
        let shape: Vec<String> = array.shape().iter().map(usize::to_string).collect();
        entries.push(format!(
            "{}:{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            quoted(name),
            shape.join(",")
        ));
        offset = end;
    }
    let mut header = format!("{{{}}}", entries.join(",")).into_bytes();
    header.resize(header.len().next_multiple_of(PREFIX), b' ');

    let mut bytes = Vec::with_capacity(PREFIX + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for (_, array) in &tensors {
        extend_le(&mut bytes, array.iter());
    }
    Ok(bytes)
}

/// A JSON string literal.
fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Parses and validates a whole file.
///
/// # Errors
/// What is wrong with the bytes, in words, for [`IoError::Corrupt`](crate::IoError::Corrupt).
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>, String> {
    precheck(bytes)?;
    let (n, header) = SafeTensors::read_metadata(bytes).map_err(explain)?;
    let data = bytes.get(PREFIX + n..).ok_or("the header runs past the end of the file")?;
    let mut tensors = BTreeMap::new();
    for (name, info) in header.tensors() {
        let (start, end) = info.data_offsets;
        let data =
            data.get(start..end).ok_or_else(|| format!("the data of tensor {name} is out of bounds"))?;
        tensors.insert(name, RawTensor { dtype: info.dtype, shape: info.shape.clone(), data });
    }
    let metadata = header.metadata().clone().map(Metadata::from).unwrap_or_default();
    Ok(Parsed { tensors, metadata })
}

/// Checks the header length and every tensor's end offset against the file
/// size, for clear messages on truncated files, and so that no offset sum in
/// `safetensors` can overflow.
fn precheck(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let Some(prefix) = bytes.first_chunk::<PREFIX>() else {
        return Err(format!(
            "the file is {} bytes long, too short for the 8-byte header length (truncated?)",
            bytes.len()
        ));
    };
    let n = u64::from_le_bytes(*prefix);
    let rest = bytes.len() - PREFIX;
    if n > rest as u64 {
        return Err(format!(
            "the header length is {n} bytes but only {rest} bytes follow (truncated, or not a safetensors file)"
        ));
    }
    let header = &bytes[PREFIX..PREFIX + n as usize];
    let header = std::str::from_utf8(header).map_err(|_| "the header is not UTF-8 text".to_string())?;
    let header: serde_json::Value =
        serde_json::from_str(header).map_err(|e| format!("the header is not valid JSON: {e}"))?;
    let Some(header) = header.as_object() else {
        return Err("the header is not a JSON object".into());
    };
    let data_len = (rest - n as usize) as u64;
    for (name, info) in header.iter().filter(|(name, _)| *name != "__metadata__") {
        let end = info.get("data_offsets").and_then(|o| o.get(1)).and_then(serde_json::Value::as_u64);
        if let Some(end) = end
            && end > data_len
        {
            return Err(format!(
                "tensor {name} ends at byte {end} of the data but the file holds {data_len} bytes of data (truncated?)"
            ));
        }
    }
    Ok(())
}

/// `safetensors`' error in the words of our messages.
fn explain(error: SafeTensorError) -> String {
    match error {
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensors do not cover the data exactly (truncated, or extra bytes at the end)".into()
        }
        SafeTensorError::InvalidHeaderDeserialization(e) => {
            format!("the header is not a safetensors header: {e}")
        }
        SafeTensorError::HeaderTooLarge => "the header is larger than 100 MB".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn sample() -> Vec<u8> {
        let w = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let b = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.5f32, -0.5]).unwrap();
        let meta = Metadata::new().with("format", "nn").with("dtype", "f32");
        to_bytes(vec![("0.weight".into(), w.view()), ("0.bias".into(), b.view())], &meta).unwrap()
    }

    #[test]
    fn the_header_is_sorted_padded_json() {
        let bytes = sample();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap().trim_end();
        assert_eq!(
            header,
            r#"{"__metadata__":{"dtype":"f32","format":"nn"},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}"#
        );
        assert_eq!(bytes.len(), 8 + n + 32);
        assert_eq!(&bytes[8 + n..8 + n + 4], &0.5f32.to_le_bytes());
    }

    #[test]
    fn safetensors_reads_what_we_write() {
        let bytes = sample();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let w = st.tensor("0.weight").unwrap();
        assert_eq!(w.dtype(), Dtype::F32);
        assert_eq!(w.shape(), &[2, 3]);
        assert_eq!(&w.data()[..4], &1.0f32.to_le_bytes());
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.tensors.keys().collect::<Vec<_>>(), vec!["0.bias", "0.weight"]);
        assert_eq!(parsed.metadata.get("format"), Some("nn"));
    }

    #[test]
    fn writing_is_deterministic() {
        assert_eq!(sample(), sample());
    }

    #[test]
    fn a_repeated_name_is_refused() {
        let a = ArrayD::<f64>::zeros(IxDyn(&[1]));
        let err =
            to_bytes(vec![("w".into(), a.view()), ("w".into(), a.view())], &Metadata::new()).unwrap_err();
        assert_eq!(err, "w");
    }

    #[test]
    fn truncation_anywhere_is_an_error() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut} was accepted");
        }
        assert_eq!(parse(&bytes[..0]).err().unwrap(), "the file is empty");
        assert_eq!(
            parse(&bytes[..5]).err().unwrap(),
            "the file is 5 bytes long, too short for the 8-byte header length (truncated?)"
        );
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        assert_eq!(
            parse(&bytes[..20]).err().unwrap(),
            format!(
                "the header length is {n} bytes but only 12 bytes follow (truncated, or not a safetensors file)"
            )
        );
        assert_eq!(
            parse(&bytes[..bytes.len() - 1]).err().unwrap(),
            "tensor 0.weight ends at byte 32 of the data but the file holds 31 bytes of data (truncated?)"
        );
    }

    #[test]
    fn garbage_headers_are_errors() {
        let mut bytes = sample();
        bytes[9] = b'#';
        assert!(parse(&bytes).err().unwrap().starts_with("the header is not valid JSON: "));
        bytes[9] = 0xff;
        assert_eq!(parse(&bytes).err().unwrap(), "the header is not UTF-8 text");

        let mut extra = sample();
        extra.push(0);
        assert_eq!(
            parse(&extra).err().unwrap(),
            "the tensors do not cover the data exactly (truncated, or extra bytes at the end)"
        );

        let file = |header: &str, data: usize| {
            let mut b = (header.len() as u64).to_le_bytes().to_vec();
            b.extend_from_slice(header.as_bytes());
            b.resize(b.len() + data, 0);
            b
        };
        assert_eq!(parse(&file("[1, 2]", 0)).err().unwrap(), "the header is not a JSON object");
        assert!(parse(&file(r#"{"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#, 4)).is_err());
        assert!(parse(&file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, 4)).is_err());
        assert!(parse(&file(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, 4)).is_err());
        assert!(parse(&file(r#"{"__metadata__":{"x":1}}"#, 0)).is_err());
        let empty_file = file("{}", 0);
        let empty = parse(&empty_file).unwrap();
        assert!(empty.tensors.is_empty() && empty.metadata.is_empty());
    }

    #[test]
    fn offsets_whose_sum_overflows_are_an_error_not_a_panic() {
        // Nine tensors of 2^61 bytes each: their offsets add up past usize::MAX.
        let big = 1u64 << 61;
        let entries: Vec<String> = (0..9u64)
            .map(|i| {
                format!(
                    r#""t{i}":{{"dtype":"U8","shape":[{big}],"data_offsets":[{},{}]}}"#,
                    i.wrapping_mul(big),
                    (i + 1).wrapping_mul(big)
                )
            })
            .collect();
        let header = format!("{{{}}}", entries.join(","));
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        assert!(parse(&b).is_err());
    }
}

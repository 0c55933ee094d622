//! Bytes in and out of the page: reading picked or dropped files, offering downloads, and
//! showing PNGs from the worker.

use crate::protocol::FileBytes;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

fn blob_url(bytes: &[u8], mime: &str) -> Result<String, String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("cannot make a file in the browser: {e:?}"))?;
    web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| format!("cannot make a file in the browser: {e:?}"))
}

/// A URL for PNG bytes (for `<img src>`).
pub fn png_url(bytes: &[u8]) -> Option<String> {
    blob_url(bytes, "image/png").ok()
}

/// Offers `bytes` as a download called `name`.
pub fn download(name: &str, bytes: &[u8]) -> Result<(), String> {
    let url = blob_url(bytes, "application/octet-stream")?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "not an anchor")?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    Ok(())
}

/// The files of a `FileList` (from a picker or a drop), read into memory.
pub async fn read_all(list: web_sys::FileList) -> Result<Vec<FileBytes>, String> {
    let mut files = vec![];
    for i in 0..list.length() {
        let Some(file) = list.get(i) else { continue };
        let buffer = JsFuture::from(file.array_buffer())
            .await
            .map_err(|e| format!("cannot read {}: {e:?}", file.name()))?;
        files.push(FileBytes {
            name: file.name(),
            bytes: js_sys::Uint8Array::new(&buffer).to_vec(),
        });
    }
    if files.is_empty() {
        return Err("no files were picked".into());
    }
    Ok(files)
}

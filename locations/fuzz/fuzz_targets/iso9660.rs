//! Fuzz the ISO 9660 reader: the input is an image after its 32 KiB
//! system area (which the reader never looks at), opened, its root and
//! first subdirectories listed, a few paths looked up and read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locations::iso9660::Iso;

fuzz_target!(|data: &[u8]| {
    let mut img = vec![0u8; 32 * 1024];
    img.extend_from_slice(data);
    let Ok(mut iso) = Iso::open(&img[..]) else {
        return;
    };
    let root = iso.root();
    if let Ok(entries) = iso.list(&root) {
        for e in entries.iter().take(8) {
            if e.dir {
                let _ = iso.list(e);
            } else {
                let mut buf = vec![0u8; e.size.min(4096) as usize];
                let _ = iso.read_at(e, 0, &mut buf);
            }
        }
    }
    for p in [
        "boot/s390x/linux",
        "images/kernel.img",
        "BOOT/S390X",
        "a/b/c/d",
    ] {
        if let Ok(e) = iso.lookup(p) {
            let mut buf = vec![0u8; e.size.min(4096) as usize];
            let _ = iso.read_at(&e, 0, &mut buf);
        }
    }
});

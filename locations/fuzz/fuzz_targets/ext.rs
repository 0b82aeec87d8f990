//! Fuzz the image reader on ext2/3/4 (`locations::image` over
//! `ext4-view`): the input is an image after its 1 KiB boot block (which
//! the reader never looks at), with the superblock's magic forced, so
//! that every input reaches the ext code; a few paths are opened and
//! their first bytes read. A panic, an abort or a hang is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locations::image;
use locations::iso9660::{ReadAt, ReadError};

struct Bytes(std::rc::Rc<[u8]>);

impl ReadAt for Bytes {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        (&self.0[..]).read_exact_at(offset, buf)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut img = vec![0u8; 1024];
    img.extend_from_slice(data);
    if img.len() < 1082 {
        img.resize(1082, 0);
    }
    img[1080] = 0x53;
    img[1081] = 0xef;
    let img: std::rc::Rc<[u8]> = img.into();
    for p in ["boot/s390x/linux", "many/file-0007", "a", "lost+found/x"] {
        if let Ok(mut f) = image::open(Box::new(Bytes(img.clone())), p) {
            let mut buf = vec![0u8; f.size().min(64 << 10) as usize];
            let _ = f.read_exact_at(0, &mut buf);
            let half = f.size() / 2;
            let one = buf.len().min(1);
            let _ = f.read_exact_at(half, &mut buf[..one]);
        }
    }
});

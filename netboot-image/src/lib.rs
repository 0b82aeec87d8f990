//! Build, combine and inspect s390x network boot images.
//!
//! An s390x "combined image" (served as `pxelinux.0`) is one file that the
//! QEMU netboot firmware (or a z/VM reader, or `-kernel`) loads at address 0:
//! a kernel image whose parm area points at an initramfs appended to it.
//!
//! ```text
//!  pxelinux.0
//!  +------------------------------+ 0
//!  | kernel image                 |
//!  |   0x10008 "S390EP"           |
//!  |   0x10408 initrd_start  ---------+
//!  |   0x10410 initrd_size        |   |
//!  |   0x10480 command line       |   |
//!  +------------------------------+   |
//!  | zero padding to 4 KiB        |   |
//!  +------------------------------+ <-+
//!  | initramfs (compressed cpio): |
//!  |   /init, /dev/console,       |
//!  |   /lib/modules/VER/...       |
//!  +------------------------------+
//! ```
//!
//! - [`cpio`]: the newc archive writer and reader (no dependencies).
//! - [`s390`]: the kernel image layout, [`s390::combine`] and the
//!   [`s390::ParmArea`] view used for kexec (no dependencies).
//! - [`modules`]: resolving kernel modules and their dependencies.
//! - [`kernel_tree`]: an unpacked kernel package (`boot/vmlinuz-*`,
//!   `lib/modules/*`); [`testenv`]: what the workspace's tests share
//!   about their environment (the real kernel, skip-or-fail).
//! - [`trust`]: where trusted minisign keys go in the initramfs
//!   (`/etc/pxeinit/trust/KEYID.pub`), shared with pxeinit (no dependencies).
//! - `compress` and `initramfs` (feature `compress`, on by default):
//!   compression and initramfs assembly.
//! - `inspect` (feature `cli`): a report of what an image contains.
//!
//! Everything is reproducible: the same inputs give the same bytes.
//!
//! # Example
//!
//! ```
//! use netboot_image::{cpio, s390};
//!
//! let mut archive = cpio::Archive::with_mtime(0);
//! archive.add_file("/init", 0o755, b"#!/bin/sh\n".to_vec());
//! archive.add_char_dev("/dev/console", 0o600, 5, 1);
//! let initramfs = archive.to_bytes();
//! # let mut kernel = vec![0u8; 0x11000];
//! # kernel[0x10008..0x1000e].copy_from_slice(b"S390EP");
//! let image = s390::combine(&kernel, &[&initramfs], Some("console=ttysclp0"))?;
//! assert_eq!(s390::KernelImage::parse(&image)?.initrd_data().map(<[u8]>::len), Some(initramfs.len()));
//! # Ok::<(), s390::Error>(())
//! ```
//!
//! # Features
//!
//! - `compress` (default): gzip, xz and zstd through pure-Rust crates; needed
//!   by `initramfs`, by `inspect` and to read compressed modules.
//! - `cli` (default): the `netboot-image` binary and the `inspect` module.
//!
//! With `default-features = false` the crate has no dependencies.
#![deny(missing_docs)]

#[cfg(feature = "compress")]
pub mod compress;
pub mod cpio;
#[cfg(feature = "compress")]
pub mod initramfs;
#[cfg(feature = "cli")]
pub mod inspect;
pub mod kernel_tree;
pub mod modules;
pub mod s390;
pub mod testenv;
pub mod trust;

//! A static file server for the boot benchmark's HTTP variant: QEMU's
//! slirp lets the guest reach the host's loopback as 10.0.2.2, so
//! pxeinit can fetch `http://10.0.2.2:PORT/...` from it. GET only,
//! `Content-Length`, one thread per connection, no dependencies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use crate::Result;

/// Serve `root` on 127.0.0.1 (an ephemeral port) in background threads
/// for the life of the process; returns the port.
pub fn serve(root: &Path) -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("httpd: bind: {e}"))?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let _ = handle(s, &root);
            });
        }
    });
    Ok(port)
}

fn handle(s: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut r = BufReader::new(&s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut w = &s;
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let Some(file) = resolve(root, path) else {
        return w.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let Ok(mut f) = std::fs::File::open(&file) else {
        return w.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let len = f.metadata()?.len();
    w.write_all(
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        w.write_all(&buf[..n])?;
    }
}

fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = Path::new(url_path.split('?').next()?.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(rel))
}

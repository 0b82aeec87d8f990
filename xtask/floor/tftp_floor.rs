//! `tftp-floor SERVER BLKSIZE FILE...`: the least a Linux process can do
//! per block of a lockstep TFTP download (RFC 1350 with the RFC 2348
//! `blksize` option), the floor the `tcg` benchmark measures pxeinit
//! against. One connected UDP socket, one blocking `recv` and one `send`
//! per block, nothing stored, no checks beyond the block number; a lost
//! packet is answered by sending the last ACK again after 200 ms.
//! Built for s390x by `cargo xtask bench --only tcg` with plain rustc
//! (std only) and run inside the guest.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn fetch(server: SocketAddr, blksize: usize, file: &str) -> Result<(u64, u64), String> {
    let s = UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("bind: {e}"))?;
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
    let mut rrq = vec![0, 1];
    for part in [file, "octet", "blksize", &blksize.to_string()] {
        rrq.extend_from_slice(part.as_bytes());
        rrq.push(0);
    }
    let mut buf = vec![0u8; blksize + 4];
    let mut sent = rrq.clone();
    let mut to = server;
    let mut connected = false;
    let (mut next, mut bytes, mut blocks) = (1u16, 0u64, 0u64);
    let mut tries = 0;
    loop {
        let got = if connected {
            s.recv(&mut buf).map(|n| (n, to))
        } else {
            s.send_to(&sent, to).map_err(|e| format!("sendto: {e}"))?;
            s.recv_from(&mut buf)
        };
        let (n, from) = match got {
            Ok(x) => x,
            Err(_) if tries < 50 => {
                tries += 1;
                if connected {
                    s.send(&sent).map_err(|e| format!("send: {e}"))?;
                }
                continue;
            }
            Err(e) => return Err(format!("{file}: no answer: {e}")),
        };
        tries = 0;
        if n < 4 {
            continue;
        }
        if !connected {
            s.connect(from).map_err(|e| format!("connect: {e}"))?;
            to = from;
            connected = true;
        }
        let op = u16::from_be_bytes([buf[0], buf[1]]);
        let block = u16::from_be_bytes([buf[2], buf[3]]);
        let last = match op {
            // OACK: acknowledge as block 0.
            6 => {
                sent = vec![0, 4, 0, 0];
                false
            }
            3 if block == next => {
                bytes += (n - 4) as u64;
                blocks += 1;
                next = next.wrapping_add(1);
                sent = vec![0, 4, buf[2], buf[3]];
                n - 4 < blksize
            }
            3 => continue,
            5 => {
                let msg = String::from_utf8_lossy(&buf[4..n]);
                return Err(format!("{file}: server error: {}", msg.trim_end_matches('\0')));
            }
            _ => continue,
        };
        s.send(&sent).map_err(|e| format!("send: {e}"))?;
        if last {
            return Ok((bytes, blocks));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(server), Some(blksize)) = (args.first(), args.get(1)) else {
        eprintln!("usage: tftp-floor SERVER BLKSIZE FILE...");
        std::process::exit(2);
    };
    let server: SocketAddr = match format!("{server}:69").parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tftp-floor: {server}: {e}");
            std::process::exit(2);
        }
    };
    let blksize: usize = blksize.parse().unwrap_or(512);
    let start = Instant::now();
    let (mut bytes, mut blocks) = (0, 0);
    for file in &args[2..] {
        match fetch(server, blksize, file) {
            Ok((b, n)) => {
                bytes += b;
                blocks += n;
            }
            Err(e) => {
                eprintln!("tftp-floor: {e}");
                std::process::exit(1);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("tftp-floor: {bytes} bytes in {blocks} blocks, {secs:.3} s");
}

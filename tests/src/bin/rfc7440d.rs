//! `pxt-rfc7440d`: the `async-tftp` crate's server (RFC 1350, 2347, 2348,
//! 2349 and 7440 windowsize) serving a directory read-only, for the host
//! integration tests. Runs in the foreground inside a test network
//! namespace (`ip netns exec NS pxt-rfc7440d DIR ADDR:PORT`), prints
//! `listening on ADDR:PORT` once bound, and logs each request with the
//! options it acknowledged to stderr.

use std::net::SocketAddr;
use std::process::ExitCode;

use async_tftp::server::TftpServerBuilder;

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("async_tftp")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("{}: {}", r.level(), r.args());
        }
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(addr)) = (args.first(), args.get(1)) else {
        eprintln!("usage: pxt-rfc7440d DIR ADDR:PORT");
        return ExitCode::from(2);
    };
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pxt-rfc7440d: {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    // Trace level shows "RRQ OACK (peer: ..., opts: ...)" per request,
    // which the tests read to see the negotiated window size.
    let _ = log::set_logger(&LOGGER).map(|()| log::set_max_level(log::LevelFilter::Trace));
    let r = async_io::block_on(async {
        let server = TftpServerBuilder::with_dir_ro(dir)?
            .bind(addr)
            .build()
            .await?;
        println!("listening on {}", server.listen_addr()?);
        server.serve().await
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pxt-rfc7440d: {e}");
            ExitCode::FAILURE
        }
    }
}

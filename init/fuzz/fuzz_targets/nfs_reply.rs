//! ONC RPC replies and the portmapper, MOUNT v3 and NFSv3 results:
//! untrusted bytes never panic, and what decodes stays within the caps a
//! client relies on (file handles of at most 64 bytes, no more READ data
//! than asked and exactly the count the server gave, bounded lists).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/nfs/wire.rs"]
mod wire;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    // The reply's own xid, so that most inputs reach the results.
    let xid = match rest.get(..4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    };
    let d = match wire::reply(xid, rest) {
        Ok(d) => d,
        Err(e) => {
            let _ = e.to_string();
            // A mismatched xid is told apart from a malformed reply.
            let _ = wire::reply(xid ^ 1, rest);
            return;
        }
    };
    let asked = u32::from(sel) << 8;
    match sel % 7 {
        0 => {
            let _ = wire::parse_getport(&mut d.clone());
        }
        1 => {
            if let Ok(Ok(fh)) = wire::parse_mnt(&mut d.clone()) {
                assert!(fh.len() <= wire::MAX_FH);
            }
        }
        2 => {
            if let Ok(list) = wire::parse_exports(&mut d.clone()) {
                assert!(list.len() <= wire::MAX_EXPORTS);
                assert!(list.iter().all(|e| e.len() <= 3 * wire::MAX_PATH));
            }
        }
        3 => {
            if let Ok(Ok((fh, _))) = wire::parse_lookup(&mut d.clone()) {
                assert!(fh.len() <= wire::MAX_FH);
            }
            let _ = wire::parse_getattr(&mut d.clone());
        }
        4 => {
            if let Ok(Ok(r)) = wire::parse_read(&mut d.clone(), asked) {
                assert!(r.data.len() <= asked as usize);
            }
        }
        5 => {
            let _ = wire::parse_fsinfo(&mut d.clone());
        }
        _ => {
            if let Ok(Ok(t)) = wire::parse_readlink(&mut d.clone()) {
                assert!(t.len() <= 3 * wire::MAX_LINK);
            }
        }
    }
    let (name, why) = wire::nfsstat(xid);
    assert!(!name.is_empty() && !why.is_empty());
    let _ = wire::mountstat(xid);
});

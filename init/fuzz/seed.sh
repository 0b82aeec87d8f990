#!/bin/sh
# Seed corpora for the HTTP, DNS, minisign and NFS targets (the wire targets
# start empty): a few well-formed inputs each, so that libFuzzer starts
# past the first checks. The minisign ones use the key and signatures
# built into fuzz_targets/minisign_sig.rs.
set -eu
cd "$(dirname "$0")"
seed() { mkdir -p "corpus/$1"; printf "$3" >"corpus/$1/$2"; }

seed http_head ok 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'
seed http_head chunked 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n'
seed http_head redirect 'HTTP/1.0 302 Found\nLocation: /boot/vmlinuz\nContent-Length: 0\n\n'
seed http_chunked two '\001\377\377a\r\nhelloworld\r\n5\r\n!!!!!\r\n0\r\n\r\n'
seed http_chunked trailers '\007\020\000A;name="v"\r\n0123456789\r\n0;end\r\nExpires: never\r\nX: y\r\n\r\n'
# id 0x1234, boot.example: a CNAME then an A record (10.0.0.7).
seed dns_answer cname_a '\022\064\201\200\000\001\000\002\000\000\000\000\004boot\007example\000\000\001\000\001\300\014\000\005\000\001\000\000\000\074\000\004\002w\300\014\300\014\000\001\000\001\000\000\000\074\000\004\012\000\000\007'
seed dns_answer nxdomain '\000\007\201\203\000\001\000\000\000\000\000\000\001x\000\000\001\000\001'

KEY='untrusted comment: minisign public key E9DAEF891528501B\nRWQbUCgVie/a6Yem141O7oveQ86zksJCYe4V4br4YXC7GWcSGC1RA0JY\n'
seed minisign_key key "$KEY"
seed minisign_key bare 'RWQbUCgVie/a6Yem141O7oveQ86zksJCYe4V4br4YXC7GWcSGC1RA0JY'

PRE='untrusted comment: signature from minisign secret key\nRUQbUCgVie/a6TmyW+eHjMrNaJCGsB7/jUCpiw7G4ojxAiiqT5wHSFXybp0MXMmBO7ZhFGTO4BiVup5xTJqyWmfzB+qdMGTtoAU=\ntrusted comment: timestamp:1796120494\tfile:signed.cfg\thashed\nL49jzY+Z6lmH5Slgw/X5EKGB+M+O81W5b+pykVV4ImAAzBgQzNePObd90OXpWARNHSsiS4l4OS1XVEvHYc7MCA==\n'
LEGACY='untrusted comment: signature from minisign secret key\nRWQbUCgVie/a6akzYLqkXRiDYzIInNKCvvsnFfnpndXR2DW1ipGimMYGai7knMsg/933m+3BphuDVPHE+0jA3Ga2Xufkd0k0RQM=\ntrusted comment: timestamp:1796120494\tfile:signed.cfg\nvYZS8hOWIZX8kotWFAlBgX6Nl2TLmO9M10R3V8s1FAFQgmh9NpcEQoQ4I9k0UlLThmd8nlVkimwH5vpydePxDA==\n'
DATA='LABEL fuzz\n  KERNEL vmlinuz\n'
# Raw (mode byte 0), the real signatures (1), assembled (2).
seed minisign_sig raw_pre "\\000$PRE\\000http://h/cfg/signed.cfg?v=1\\000$DATA"
seed minisign_sig raw_legacy "\\003$LEGACY\\000pxelinux.cfg/signed.cfg\\000$DATA"
seed minisign_sig real '\001\000\000\000\000signed.cfg\000LABEL fuzz\n  KERNEL vmlinuz\n'
seed minisign_sig assembled '\002\377\000\000\000ops\000timestamp:1\000signed.cfg\000signed.cfg\000'

# nfs_reply: a selector byte, then a reply (xid 7, accepted, AUTH_NONE
# verifier, SUCCESS) and its results: MNT (a 4-byte handle, AUTH_SYS),
# EXPORT (/srv to *), READ of 5 bytes with eof (1024 asked).
H='\000\000\000\007\000\000\000\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
seed nfs_reply mnt "\001$H\000\000\000\000\000\000\000\004abcd\000\000\000\001\000\000\000\001"
seed nfs_reply exports "\002$H\000\000\000\001\000\000\000\004/srv\000\000\000\001\000\000\000\001*\000\000\000\000\000\000\000\000\000\000\000"
seed nfs_reply read "\004$H\000\000\000\000\000\000\000\000\000\000\000\005\000\000\000\001\000\000\000\005hello\000\000\000"

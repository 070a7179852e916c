//! The client's address: the TCP peer, or what trusted proxies say in `X-Forwarded-For`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The header proxies append the address of their own client to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address and, when it is the TCP peer itself, its port.
///
/// Without a known peer there is nothing to start from, and `X-Forwarded-For` cannot be
/// believed either: the result is `None`. When the peer is not a trusted proxy it *is* the
/// client, whatever the request's headers claim.
///
/// When the peer is a trusted proxy, the `X-Forwarded-For` entries are walked from right to
/// left (every proxy appends the address it received the request from, so the rightmost entry
/// was written by the peer, the one before it by the proxy before, and so on). Each entry was
/// written by a hop already found trustworthy, so it is believed; the walk goes on only while
/// the entry is itself a trusted proxy. The first untrusted entry is the client. The walk
/// stops early at a malformed entry, keeping the last address reached: the hop that passed the
/// garbage on is the furthest one we can vouch for. An address from the header has no port.
pub(crate) fn client_address(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<(IpAddr, Option<u16>)> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));

    let mut client = (peer.ip().to_canonical(), Some(peer.port()));
    if !is_trusted(&client.0) {
        return Some(client);
    }

    // Several header lines read as one list, in order: later lines were appended later.
    for line in headers.get_all(X_FORWARDED_FOR).iter().rev() {
        for entry in line.as_bytes().rsplit(|&b| b == b',') {
            let Some(ip) = parse_entry(entry) else {
                tracing::debug!(
                    trusted_hop = %client.0,
                    "malformed X-Forwarded-For entry; using the last trusted hop"
                );
                return Some(client);
            };
            client = (ip, None);
            if !is_trusted(&ip) {
                return Some(client);
            }
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an IPv4 or IPv6 address, optionally with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`) or in brackets (`[2001:db8::1]`). Anything else
/// (`unknown`, obfuscated identifiers, zone ids, empty entries) is `None`.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?.trim_matches([' ', '\t']);
    let ip = if let Ok(ip) = text.parse::<IpAddr>() {
        ip
    } else if let Ok(addr) = text.parse::<SocketAddr>() {
        addr.ip()
    } else {
        let inner = text.strip_prefix('[')?.strip_suffix(']')?;
        IpAddr::V6(inner.parse::<Ipv6Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn client(peer: &str, lines: &[&str], trusted: &[&str]) -> Option<(IpAddr, Option<u16>)> {
        client_address(Some(peer.parse().unwrap()), &xff(lines), &nets(trusted))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_a_peer_there_is_no_address() {
        let headers = xff(&["203.0.113.9"]);
        assert_eq!(client_address(None, &headers, &nets(&["0.0.0.0/0"])), None);
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_header_says() {
        let got = client("198.51.100.4:50123", &["203.0.113.9"], &[]);
        assert_eq!(got, Some((ip("198.51.100.4"), Some(50123))));

        let got = client("198.51.100.4:50123", &["203.0.113.9"], &["10.0.0.0/8"]);
        assert_eq!(got, Some((ip("198.51.100.4"), Some(50123))));
    }

    #[test]
    fn trusted_peer_without_header_is_the_client() {
        let got = client("10.0.0.2:443", &[], &["10.0.0.0/8"]);
        assert_eq!(got, Some((ip("10.0.0.2"), Some(443))));
    }

    #[test]
    fn trusted_peer_vouches_for_the_rightmost_entry_without_its_port() {
        let got = client("10.0.0.2:443", &["203.0.113.9"], &["10.0.0.0/8"]);
        assert_eq!(got, Some((ip("203.0.113.9"), None)));
    }

    #[test]
    fn chain_of_trusted_proxies_is_walked_to_the_first_untrusted_entry() {
        let got = client(
            "10.0.0.2:443",
            &["192.0.2.66, 203.0.113.9, 10.1.1.1, 10.2.2.2"],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, Some((ip("203.0.113.9"), None)));
    }

    #[test]
    fn spoofed_entries_left_of_the_client_are_never_reached() {
        // The client sent "10.9.9.9" itself; the proxy appended the real address.
        let got = client("10.0.0.2:443", &["10.9.9.9, 198.51.100.7"], &["10.0.0.0/8"]);
        assert_eq!(got, Some((ip("198.51.100.7"), None)));
    }

    #[test]
    fn several_header_lines_read_as_one_list() {
        let got = client(
            "10.0.0.2:443",
            &["203.0.113.9", "10.1.1.1"],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, Some((ip("203.0.113.9"), None)));
    }

    #[test]
    fn all_entries_trusted_gives_the_leftmost() {
        let got = client("10.0.0.2:443", &["10.3.3.3, 10.1.1.1"], &["10.0.0.0/8"]);
        assert_eq!(got, Some((ip("10.3.3.3"), None)));
    }

    #[test]
    fn malformed_rightmost_entry_leaves_the_peer() {
        for garbage in [
            "unknown",
            "",
            " ",
            "203.0.113.9.1",
            "_hidden",
            "fe80::1%eth0",
        ] {
            let got = client("10.0.0.2:443", &[garbage], &["10.0.0.0/8"]);
            assert_eq!(got, Some((ip("10.0.0.2"), Some(443))), "{garbage:?}");
        }
    }

    #[test]
    fn malformed_entry_further_left_stops_at_the_last_trusted_hop() {
        let got = client(
            "10.0.0.2:443",
            &["203.0.113.9, junk, 10.1.1.1"],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, Some((ip("10.1.1.1"), None)));

        let got = client("10.0.0.2:443", &["203.0.113.9,,10.1.1.1"], &["10.0.0.0/8"]);
        assert_eq!(got, Some((ip("10.1.1.1"), None)));
    }

    #[test]
    fn non_ascii_bytes_are_malformed() {
        let mut headers = HeaderMap::new();
        headers.append(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"203.0.113.9, 10.1.1.\xff").unwrap(),
        );
        let got = client_address(
            Some("10.0.0.2:443".parse().unwrap()),
            &headers,
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(got, Some((ip("10.0.0.2"), Some(443))));
    }

    #[test]
    fn entries_with_ports_and_brackets_are_accepted() {
        let trusted = ["10.0.0.0/8"];
        let peer = "10.0.0.2:443";
        let cases = [
            ("203.0.113.9:4711", "203.0.113.9"),
            ("[2001:db8::7]:4711", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("  2001:db8::7\t", "2001:db8::7"),
        ];
        for (entry, want) in cases {
            assert_eq!(
                client(peer, &[entry], &trusted),
                Some((ip(want), None)),
                "{entry}"
            );
        }
    }

    #[test]
    fn ipv6_peers_and_proxies() {
        let trusted = ["fd00::/8"];
        let got = client("[fd00::2]:443", &["2001:db8::7, fd00::1"], &trusted);
        assert_eq!(got, Some((ip("2001:db8::7"), None)));

        let got = client("[2001:db8::9]:443", &["2001:db8::7"], &trusted);
        assert_eq!(got, Some((ip("2001:db8::9"), Some(443))));
    }

    #[test]
    fn ipv4_mapped_addresses_are_matched_and_recorded_as_ipv4() {
        let got = client(
            "[::ffff:10.0.0.2]:443",
            &["::ffff:203.0.113.9"],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, Some((ip("203.0.113.9"), None)));

        let got = client("[::ffff:198.51.100.4]:50123", &[], &["10.0.0.0/8"]);
        assert_eq!(got, Some((ip("198.51.100.4"), Some(50123))));
    }

    #[test]
    fn single_address_networks_trust_exactly_that_address() {
        let got = client("127.0.0.1:8080", &["203.0.113.9"], &["127.0.0.1/32"]);
        assert_eq!(got, Some((ip("203.0.113.9"), None)));

        let got = client("127.0.0.2:8080", &["203.0.113.9"], &["127.0.0.1/32"]);
        assert_eq!(got, Some((ip("127.0.0.2"), Some(8080))));
    }
}

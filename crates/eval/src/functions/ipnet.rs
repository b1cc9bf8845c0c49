//! IP network functions: `cidrhost`, `cidrnetmask`, `cidrsubnet`,
//! `cidrsubnets`, with the address parsing of Terraform's `ipaddr` (Go's
//! `net` of Go 1.16: IPv4 octets with leading zeros are decimal) and the
//! arithmetic of `go-cidr` 1.1, quirks included (a negative network number
//! is or-ed in two's complement, as Terraform does).

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::*;

#[cfg(test)]
pub(super) const NAMES: &[&str] = &["cidrhost", "cidrnetmask", "cidrsubnet", "cidrsubnets"];

const PREFIX: Param = p!("prefix", P::String);

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = |params: &'static [Param], imp: Impl| fixed(params, ret_string, imp);
    Some(match name {
        "cidrhost" => s(&[PREFIX, p!("hostnum", P::Number)], |_, a| {
            let num = big_int(a, 1)?;
            let net = parse_cidr(arg_str(a, 0))?;
            host(&net, num).map(|ip| Value::string(ip_string(&ip)))
        }),
        "cidrnetmask" => s(&[PREFIX], |_, a| {
            let net = parse_cidr(arg_str(a, 0))?;
            if to4(&net.ip).is_none() {
                return Err(fail(format!(
                    "IPv6 addresses cannot have a netmask: {}",
                    arg_str(a, 0)
                )));
            }
            Ok(Value::string(ip_string(&mask_bytes(
                net.prefix as i64,
                net.bits,
            ))))
        }),
        "cidrsubnet" => s(
            &[PREFIX, p!("newbits", P::Number), p!("netnum", P::Number)],
            |_, a| {
                let newbits = arg_int(a, 1, "newbits")?;
                let num = big_int(a, 2)?;
                let net = parse_cidr(arg_str(a, 0))?;
                subnet(&net, newbits, num).map(Value::string)
            },
        ),
        "cidrsubnets" => Spec {
            params: &[PREFIX],
            var_param: Some(p!("newbits", P::Number)),
            ret: ret_list_string,
            partial: false,
            imp: cidrsubnets,
        },
        _ => return None,
    })
}

/// A parsed network: its address (4 bytes for IPv4, 16 for IPv6, already
/// masked), prefix length and mask size in bits.
#[derive(Clone, Debug)]
struct Net {
    ip: Vec<u8>,
    prefix: u32,
    bits: u32,
}

fn big_int(a: &[Value], i: usize) -> Result<BigInt> {
    let n = arg_num(a, i);
    if !n.is_integer() {
        return Err(fail("value must be a whole number"));
    }
    let (neg, v) = n
        .trunc_int()
        .ok_or_else(|| fail("value must be a whole number"))?;
    Ok(BigInt::from_biguint(
        if neg { Sign::Minus } else { Sign::Plus },
        v,
    ))
}

/// Go's `dtoi`: leading decimal digits (at least one), below 0xFFFFFF.
fn dtoi(s: &[u8]) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        n = n * 10 + (s[i] - b'0') as u32;
        if n >= 0xFF_FFFF {
            return None;
        }
        i += 1;
    }
    (i > 0).then_some((n, i))
}

fn xtoi(s: &[u8]) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut i = 0;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(16) else {
            break;
        };
        n = n * 16 + d;
        if n >= 0xFF_FFFF {
            return None;
        }
        i += 1;
    }
    (i > 0).then_some((n, i))
}

fn parse_ipv4(mut s: &[u8]) -> Option<[u8; 4]> {
    let mut p = [0u8; 4];
    for (i, x) in p.iter_mut().enumerate() {
        if s.is_empty() {
            return None;
        }
        if i > 0 {
            if s[0] != b'.' {
                return None;
            }
            s = &s[1..];
        }
        let (n, c) = dtoi(s)?;
        if n > 0xFF {
            return None;
        }
        s = &s[c..];
        *x = n as u8;
    }
    s.is_empty().then_some(p)
}

fn parse_ipv6(mut s: &[u8]) -> Option<[u8; 16]> {
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if s.len() >= 2 && s[0] == b':' && s[1] == b':' {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Some(ip);
        }
    }
    let mut i = 0;
    while i < 16 {
        let (n, c) = xtoi(s)?;
        if n > 0xFFFF {
            return None;
        }
        if c < s.len() && s[c] == b'.' {
            if ellipsis.is_none() && i != 12 {
                return None;
            }
            if i + 4 > 16 {
                return None;
            }
            let v4 = parse_ipv4(s)?;
            ip[i..i + 4].copy_from_slice(&v4);
            s = &[];
            i += 4;
            break;
        }
        ip[i] = (n >> 8) as u8;
        ip[i + 1] = n as u8;
        i += 2;
        s = &s[c..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' || s.len() == 1 {
            return None;
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return None;
    }
    if i < 16 {
        let e = ellipsis?;
        let n = 16 - i;
        for j in (e..i).rev() {
            ip[j + n] = ip[j];
        }
        for x in ip.iter_mut().skip(e).take(n) {
            *x = 0;
        }
    } else if ellipsis.is_some() {
        return None;
    }
    Some(ip)
}

/// Go's `net.ParseCIDR`: the network of an address and prefix length.
fn parse_cidr(s: &str) -> Result<Net> {
    let bad = || {
        fail(format!(
            "invalid CIDR expression: invalid CIDR address: {s}"
        ))
    };
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let (ip, bits): (Vec<u8>, u32) = match parse_ipv4(addr.as_bytes()) {
        Some(v4) => (v4.to_vec(), 32),
        None => (parse_ipv6(addr.as_bytes()).ok_or_else(bad)?.to_vec(), 128),
    };
    let (n, used) = dtoi(len.as_bytes()).ok_or_else(bad)?;
    if used != len.len() || n > bits {
        return Err(bad());
    }
    let mask = mask_bytes(n as i64, bits);
    let ip = ip.iter().zip(mask.iter()).map(|(a, m)| a & m).collect();
    Ok(Net {
        ip,
        prefix: n,
        bits,
    })
}

/// `net.CIDRMask(ones, bits)` as bytes (all zero for a negative length).
fn mask_bytes(ones: i64, bits: u32) -> Vec<u8> {
    let mut m = vec![0u8; bits as usize / 8];
    let mut left = ones.max(0);
    for b in m.iter_mut() {
        if left >= 8 {
            *b = 0xff;
            left -= 8;
        } else {
            *b = !(0xffu8 >> left);
            left = 0;
        }
    }
    m
}

/// The four bytes of an IPv4 address (also in its IPv6-mapped form).
fn to4(ip: &[u8]) -> Option<&[u8]> {
    match ip.len() {
        4 => Some(ip),
        16 if ip[..10].iter().all(|b| *b == 0) && ip[10] == 0xff && ip[11] == 0xff => {
            Some(&ip[12..])
        }
        _ => None,
    }
}

/// Go's `net.IP.String`.
fn ip_string(ip: &[u8]) -> String {
    if let Some(v4) = to4(ip) {
        return format!("{}.{}.{}.{}", v4[0], v4[1], v4[2], v4[3]);
    }
    let groups: Vec<u16> = ip
        .chunks(2)
        .map(|c| (c[0] as u16) << 8 | c[1] as u16)
        .collect();
    // the longest run of two or more zero groups (the first of equals)
    let (mut best, mut best_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < groups.len() {
        let mut j = i;
        while j < groups.len() && groups[j] == 0 {
            j += 1;
        }
        if j - i >= 2 && j - i > best_len {
            best = i;
            best_len = j - i;
        }
        i = j.max(i + 1);
    }
    let mut out = String::new();
    let mut i = 0;
    while i < groups.len() {
        if i == best {
            out.push_str("::");
            i += best_len;
            continue;
        }
        if i > 0 && !out.ends_with("::") {
            out.push(':');
        }
        out.push_str(&format!("{:x}", groups[i]));
        i += 1;
    }
    out
}

fn ip_to_int(ip: &[u8]) -> BigInt {
    BigInt::from_bytes_be(Sign::Plus, ip)
}

/// go-cidr's `intToIP`: the magnitude's bytes right-aligned in `bits`
/// bits; Go panics (Terraform's error) when they do not fit.
fn int_to_ip(v: &BigInt, bits: usize) -> Result<Vec<u8>> {
    let bytes = v.magnitude().to_bytes_be();
    let bytes: &[u8] = if v.is_zero() { &[] } else { &bytes };
    let n = bits / 8;
    if bytes.len() > n {
        return Err(fail("the resulting address does not fit in an IP address"));
    }
    let mut out = vec![0u8; n];
    out[n - bytes.len()..].copy_from_slice(bytes);
    Ok(out)
}

/// go-cidr's `insertNumIntoIP`.
fn insert(ip: &[u8], num: &BigInt, prefix_len: i64) -> Result<Vec<u8>> {
    let total = ip.len() as i64 * 8;
    let shift = total - prefix_len;
    let shifted = if shift >= 0 {
        num << (shift as usize)
    } else {
        num >> ((-shift) as usize)
    };
    int_to_ip(&(ip_to_int(ip) | shifted), ip.len() * 8)
}

/// The low 64 bits of the magnitude (Go's `big.Int.Uint64`).
fn low64(v: &BigInt) -> u64 {
    let m = v.magnitude() & BigUint::from(u64::MAX);
    m.to_u64().unwrap_or(0)
}

/// go-cidr's `HostBig`.
fn host(net: &Net, mut num: BigInt) -> Result<Vec<u8>> {
    let parent = net.prefix;
    let host_len = net.bits - parent;
    let max_host: BigInt = (BigInt::one() << host_len as usize) - 1;
    let mut num_u = BigInt::from(low64(&num) as i64);
    if num.is_negative() {
        num_u = -num.clone() - 1;
        num = &max_host - &num_u;
    }
    if num_u > max_host {
        return Err(fail(format!(
            "prefix of {parent} does not accommodate a host numbered {num}"
        )));
    }
    let bitlength = if to4(&net.ip).is_some() { 32 } else { 128 };
    insert(&net.ip, &num, bitlength)
}

/// go-cidr's `SubnetBig`, printed as Go prints an `IPNet`.
fn subnet(net: &Net, newbits: i64, num: BigInt) -> Result<String> {
    let parent = net.prefix as i64;
    let new_len = parent + newbits;
    if new_len > net.bits as i64 {
        return Err(fail(format!(
            "insufficient address space to extend prefix of {parent} by {newbits}"
        )));
    }
    let max_net: u64 = if (newbits as u64) >= 64 {
        u64::MAX
    } else {
        (1u64 << newbits) - 1
    };
    if low64(&num) > max_net {
        return Err(fail(format!(
            "prefix extension of {newbits} does not accommodate a subnet numbered {num}"
        )));
    }
    let ip = insert(&net.ip, &num, new_len)?;
    Ok(net_string(&ip, new_len, net.bits))
}

/// Go's `net.IPNet.String` for an address and a mask of `ones` of `bits`
/// (`<nil>` for the nil mask of a negative length).
fn net_string(ip: &[u8], ones: i64, bits: u32) -> String {
    if ones < 0 {
        return "<nil>".into();
    }
    match to4(ip) {
        Some(v4) => {
            // a 16-byte mask is cut to its last four bytes
            let l = if bits == 128 {
                (ones - 96).max(0)
            } else {
                ones
            };
            format!("{}/{l}", ip_string(v4))
        }
        None => format!("{}/{ones}", ip_string(ip)),
    }
}

fn cidrsubnets(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let net = parse_cidr(arg_str(a, 0)).map_err(|e| {
        EvalError::new(
            "Invalid function argument",
            format!("Invalid value for \"prefix\" parameter: {}.", e.detail),
        )
    })?;
    if a.len() == 1 {
        return Ok(Value::list_of(Type::String, Vec::new()));
    }
    if net.ip.len() == 16 && to4(&net.ip).is_some() {
        // go-cidr mixes 4- and 16-byte forms of such a prefix
        ev.note("function cidrsubnets() of an IPv4-mapped IPv6 prefix is not evaluated by rewind: its result is treated as unknown".to_string());
        return Ok(Value::Unknown(Type::list(Type::String)));
    }
    let arg_err = |i: usize, msg: String| {
        EvalError::new(
            "Invalid function argument",
            format!(
                "Invalid value for \"newbits\" parameter: argument {}: {msg}.",
                i + 1
            ),
        )
    };
    let bits = net.ip.len() as u32 * 8;
    let full: u128 = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let mask = |len: u32| -> u128 {
        if len == 0 {
            0
        } else {
            (full << (bits - len)) & full
        }
    };
    let to_u128 = |ip: &[u8]| ip.iter().fold(0u128, |v, b| v << 8 | *b as u128);
    let start = net.prefix;
    let base = to_u128(&net.ip);
    let first = arg_int(a, 1, "newbits")? + start as i64;
    if !(0..=bits as i64).contains(&first) {
        return Err(arg_err(1, format!("invalid prefix length {first}")));
    }
    // the subnet of the first length just before the network
    let mut cur = (base.wrapping_sub(1) & full) & mask(first as u32);
    let mut cur_len = first as u32;
    let mut out = Vec::with_capacity(a.len() - 1);
    for i in 1..a.len() {
        let n = arg_int(a, i, "newbits")?;
        if n < 1 {
            return Err(arg_err(i, "must extend prefix by at least one bit".into()));
        }
        if n > 32 {
            return Err(arg_err(
                i,
                "may not extend prefix by more than 32 bits".into(),
            ));
        }
        let len = n + start as i64;
        if len > bits as i64 {
            return Err(arg_err(
                i,
                format!(
                    "would extend prefix to {len} bits, which is too long for an {} address",
                    if bits == 32 { "IPv4" } else { "IPv6" }
                ),
            ));
        }
        let len = len as u32;
        // go-cidr's NextSubnet
        let last = cur | (!mask(cur_len) & full);
        let block_last = (last & mask(len)) | (!mask(len) & full);
        let next = block_last.wrapping_add(1) & full;
        if next == 0 || next & mask(start) != base {
            let mut shown = Vec::new();
            for k in (0..bits / 8).rev() {
                shown.push((cur >> (k * 8)) as u8);
            }
            return Err(arg_err(
                i,
                format!(
                    "not enough remaining address space for a subnet with a prefix of {len} bits after {}",
                    net_string(&shown, cur_len as i64, bits)
                ),
            ));
        }
        cur = next;
        cur_len = len;
        let mut ip = Vec::new();
        for k in (0..bits / 8).rev() {
            ip.push((cur >> (k * 8)) as u8);
        }
        out.push(Value::string(net_string(&ip, len as i64, bits)));
    }
    Ok(Value::list_of(Type::String, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print_as_go() {
        let v6 = |s: &str| ip_string(&parse_ipv6(s.as_bytes()).unwrap());
        assert_eq!(v6("2001:0db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("1::"), "1::");
        assert_eq!(v6("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(v6("1:0:1:0:1:0:1:0"), "1:0:1:0:1:0:1:0");
        assert!(parse_ipv6(b"1::2::3").is_none());
        assert!(parse_ipv6(b"12345::").is_none());
        assert_eq!(parse_ipv4(b"010.1.2.3"), Some([10, 1, 2, 3]));
        assert!(parse_ipv4(b"256.1.2.3").is_none());
    }
}

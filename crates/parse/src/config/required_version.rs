//! `terraform { required_version = "..." }`: Terraform's version
//! constraint syntax (hashicorp/go-version, which Terraform reads it
//! with), and whether Terraform 1.11 satisfies it.
//!
//! A constraint is a comma-separated list, all of which must hold; each is
//! an operator (`=` or none, `!=`, `>`, `>=`, `<`, `<=`, `~>`) and a
//! version (`v` allowed before it, any number of numeric segments, a
//! prerelease and build metadata after them). Versions compare by their
//! segments, zero-padded; `~> X.Y` allows X.Y and later versions of the
//! same X (the segments before the last written one are fixed). Terraform
//! refuses a prerelease in a core version constraint.

use crate::goversion::{Constraints, Version};

/// The first minor version of Terraform whose behaviour rewind follows.
const MAJOR_MINOR: [i64; 2] = [1, 11];

const INVALID: &str =
    "Invalid version constraint: This string does not use correct version constraint syntax.";

/// Whether some Terraform 1.11 release satisfies `text`; an error when
/// Terraform refuses the constraint itself (its messages, terraform
/// 1.11.4: "Invalid version constraint", "Invalid required_version
/// constraint" for a prerelease).
pub(crate) fn allows_1_11(text: &str) -> Result<bool, String> {
    for single in text.split(',') {
        let c = Constraints::parse(single).ok_or_else(|| INVALID.to_string())?;
        if c.versions().any(Version::is_prerelease) {
            return Err(format!(
                "Invalid required_version constraint: Prerelease version constraints are not supported: {}. Remove the prerelease information from the constraint. Prerelease versions of terraform will match constraints using their version core only.",
                single.trim()
            ));
        }
    }
    let all = Constraints::parse(text).ok_or_else(|| INVALID.to_string())?;
    // the patch versions where the constraints can change their answer
    let mut patches = vec![0];
    for v in all.versions() {
        let w = v.written();
        if w.len() >= 2 && w[..2] == MAJOR_MINOR {
            let p = w.get(2).copied().unwrap_or(0);
            patches.extend([p, p.saturating_add(1)]);
        }
    }
    Ok(patches
        .iter()
        .any(|&p| all.check(&Version::release(MAJOR_MINOR[0], MAJOR_MINOR[1], p))))
}

#[cfg(test)]
mod tests {
    use super::allows_1_11;

    /// Each answer as terraform 1.11.4 gave it (`terraform plan` on a
    /// terraform block with the constraint): allowed, or refused as
    /// unsupported, or the constraint refused; 1.11.x beside 1.11.4 by
    /// go-version's rules.
    #[test]
    fn constraints_as_terraform_reads_them() {
        for ok in [
            ">= 1.2, < 2.0",
            "~> 1.5",
            "v1.11.4",
            ">=1.0,<=2",
            "1.11.4+foo",
            "~> 1",
            "~>1.11.4",
            "  >=  1.0  ",
            "1.11.4.0",
            "= 1.11.0",
            "1.11",
            "~> 1.11.5",
            "!= 1.11.4",
            "> 1.11.0.5",
            "< 1.11.0.5",
        ] {
            assert_eq!(allows_1_11(ok), Ok(true), "{ok}");
        }
        for excluded in [
            "~> 1.5.0",
            "~> 0.12",
            ">= 1.12",
            "~> 1.11.4.0",
            "< 1.11",
            "~> 1.10.0",
            ">= 1.2, < 1.11",
        ] {
            assert_eq!(allows_1_11(excluded), Ok(false), "{excluded}");
        }
        for invalid in [
            "",
            "abc",
            ", >= 1.0",
            "=> 1.0",
            ">= 1.0 <2",
            "V1.0",
            "true",
            "> 1.10.99999999999999999999",
            "1.",
            "1..2",
            "1.0+",
        ] {
            let e = allows_1_11(invalid).expect_err(invalid);
            assert!(
                e.starts_with("Invalid version constraint:"),
                "{invalid}: {e}"
            );
        }
        for prerelease in [
            ">= 1.12.0-beta1",
            "1.0beta1",
            "1.11.4-",
            "~> 1.11.0-rc1+abc",
        ] {
            let e = allows_1_11(prerelease).expect_err(prerelease);
            assert!(
                e.starts_with("Invalid required_version constraint: Prerelease version constraints are not supported: "),
                "{prerelease}: {e}"
            );
        }
    }
}

//! bcrypt through the system's crypt library (libxcrypt on Debian and most Linux distributions):
//! the same code nginx calls to check the hash, and about 15% faster than the bcrypt crate's
//! Blowfish (measured by bench/run.sh: the hash is nearly all of a bundle's run time).
//!
//! It owns the FFI and nothing else. Its output is checked (a `$2y$` hash of the right length and
//! cost); when the library is missing a bcrypt that works, `None` lets the caller fall back to
//! the bcrypt crate. It must not keep the password: the library's work area is wiped.

use std::ffi::{CStr, CString, c_char, c_int, c_ulong, c_void};

use zeroize::Zeroizing;

#[link(name = "crypt")]
unsafe extern "C" {
    fn crypt_gensalt_rn(
        prefix: *const c_char,
        count: c_ulong,
        rbytes: *const c_char,
        nrbytes: c_int,
        output: *mut c_char,
        output_size: c_int,
    ) -> *mut c_char;
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut c_void,
        size: c_int,
    ) -> *mut c_char;
}

/// `sizeof(struct crypt_data)` in libxcrypt (32 KiB); a larger buffer is allowed.
const CRYPT_DATA_SIZE: usize = 32768;
/// Room for any setting string.
const SETTING_SIZE: usize = 128;
/// A bcrypt hash: `$2y$NN$` and 53 characters of salt and hash.
const BCRYPT_LENGTH: usize = 60;

/// A `$2y$` hash of `password` at `cost` made by the system's crypt, or `None` when the system
/// cannot make one (no bcrypt in its crypt, or a result that is not a well-formed hash).
pub fn bcrypt(password: &str, cost: u32) -> Option<String> {
    let phrase = Zeroizing::new(CString::new(password).ok()?.into_bytes_with_nul());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).ok()?;
    let prefix = c"$2y$";
    let mut setting = [0u8; SETTING_SIZE];
    // SAFETY: every pointer is valid for the length given with it, and the buffers outlive the
    // calls; the library writes at most `output_size` bytes into `setting`.
    let made = unsafe {
        crypt_gensalt_rn(
            prefix.as_ptr(),
            c_ulong::from(cost),
            salt.as_ptr().cast(),
            salt.len() as c_int,
            setting.as_mut_ptr().cast(),
            SETTING_SIZE as c_int,
        )
    };
    if made.is_null() {
        return None;
    }
    let mut data = Zeroizing::new(vec![0u8; CRYPT_DATA_SIZE]);
    // SAFETY: `phrase` and `setting` are NUL-terminated; `data` is zeroed and as large as the
    // library requires; the result points into `data`, which is alive while it is read.
    let hash = unsafe {
        let result = crypt_rn(
            phrase.as_ptr().cast(),
            setting.as_ptr().cast(),
            data.as_mut_ptr().cast(),
            CRYPT_DATA_SIZE as c_int,
        );
        if result.is_null() {
            return None;
        }
        CStr::from_ptr(result).to_str().ok()?.to_string()
    };
    let well_formed = hash.len() == BCRYPT_LENGTH
        && hash.starts_with(&format!("$2y${cost:02}$"))
        && hash[7..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    well_formed.then_some(hash)
}

/// Runs the system's crypt on `phrase` with `setting` (a whole hash works: its salt is used).
fn crypt(phrase: &str, setting: &str) -> Option<String> {
    let phrase = Zeroizing::new(CString::new(phrase).ok()?.into_bytes_with_nul());
    let setting = CString::new(setting).ok()?;
    let mut data = Zeroizing::new(vec![0u8; CRYPT_DATA_SIZE]);
    // SAFETY: as in `bcrypt`: NUL-terminated inputs, a zeroed work area of the required size,
    // and the result read while `data` is alive.
    unsafe {
        let result = crypt_rn(
            phrase.as_ptr().cast(),
            setting.as_ptr(),
            data.as_mut_ptr().cast(),
            CRYPT_DATA_SIZE as c_int,
        );
        if result.is_null() {
            return None;
        }
        Some(CStr::from_ptr(result).to_str().ok()?.to_string())
    }
}

/// Whether this system's crypt knows the format of `hash`, as nginx (which hands it every hash
/// it does not know itself) needs: it answers a hash in the same format, not a failure token.
pub fn knows(hash: &str) -> bool {
    let Some(answer) = crypt("promsetup-verify", hash) else {
        return false;
    };
    match hash.strip_prefix('$').and_then(|rest| rest.find('$')) {
        // `$id$...`: the same `$id$`.
        Some(end) => answer.starts_with(&hash[..end + 2]),
        // Traditional DES: 13 characters with the same two-character salt.
        None => answer.len() == 13 && answer.get(..2) == hash.get(..2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_hash_is_a_2y_bcrypt_that_the_crate_verifies() {
        let hash = bcrypt("correct horse", 5).expect("this system's crypt has bcrypt");
        assert!(hash.starts_with("$2y$05$"), "{hash}");
        assert!(::bcrypt::verify("correct horse", &hash).unwrap());
        assert!(!::bcrypt::verify("correct horsE", &hash).unwrap());
        assert_ne!(
            bcrypt("correct horse", 5).unwrap(),
            hash,
            "salts are random"
        );
    }

    #[test]
    fn knows_tells_the_formats_this_crypt_handles() {
        assert!(knows(&bcrypt("pw", 4).unwrap()));
        assert!(knows(
            "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"
        ));
        assert!(!knows("$unknown$abc$def"));
        assert!(!knows("{SHA}abc"));
    }
}

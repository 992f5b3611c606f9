//! Names of network daemons as boot scripts start them (the applet name or
//! the program's file name), shared by the families that judge servers:
//! `services` (which protocol each speaks) and `hardening` (which programs
//! face the network).

pub(crate) const TELNETD: &[&str] = &["telnetd", "utelnetd", "in.telnetd"];
pub(crate) const RLOGIN: &[&str] = &["rlogind", "in.rlogind", "rshd", "in.rshd", "rexecd", "in.rexecd"];
pub(crate) const FTPD: &[&str] = &[
    "ftpd",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "bftpd",
    "in.ftpd",
    "wu-ftpd",
    "stupid-ftpd",
    "tftpd-ftp",
];
pub(crate) const TFTPD: &[&str] = &["tftpd", "in.tftpd", "atftpd", "opentftpd"];
pub(crate) const WEB: &[&str] = &[
    "uhttpd",
    "lighttpd",
    "boa",
    "goahead",
    "webs",
    "thttpd",
    "nginx",
    "miniweb",
    "webserver",
    "mongoose",
    "civetweb",
    "appweb",
    "shttpd",
    "alphapd",
    "jjhttpd",
    "hydra",
];
pub(crate) const UPNP: &[&str] = &[
    "miniupnpd",
    "upnpd",
    "igd",
    "linux-igd",
    "bcmupnp",
    "mini_upnpd",
    "upnp",
];
pub(crate) const SNMPD: &[&str] = &["snmpd", "mini_snmpd"];
/// SSH servers.
pub(crate) const SSHD: &[&str] = &["dropbear", "sshd"];
/// Other servers that take network input: DHCP, DNS, super-servers, SMB,
/// RTSP/ONVIF and TR-069 agents.
pub(crate) const OTHER: &[&str] = &[
    "dnsmasq", "udhcpd", "dhcpd", "inetd", "xinetd", "smbd", "nmbd", "rtspd", "onvif", "cwmpd", "tr069",
];

/// Whether a program started under `name` is a network server: one of the
/// lists above, or a name ending in `httpd`, `ftpd` or `telnetd`.
pub(crate) fn is_server(name: &str) -> bool {
    [TELNETD, RLOGIN, FTPD, TFTPD, WEB, UPNP, SNMPD, SSHD, OTHER]
        .iter()
        .any(|list| list.contains(&name))
        || ["httpd", "ftpd", "telnetd"].iter().any(|x| name.ends_with(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_by_list_and_by_suffix() {
        for n in [
            "telnetd",
            "vsftpd",
            "mini_httpd",
            "miniupnpd",
            "dropbear",
            "dnsmasq",
            "bcmupnp",
        ] {
            assert!(is_server(n), "{n}");
        }
        for n in ["sh", "getty", "ipcam", "syslogd"] {
            assert!(!is_server(n), "{n}");
        }
    }
}

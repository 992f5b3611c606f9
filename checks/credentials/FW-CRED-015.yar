// FW-CRED-015: a known backdoor password compiled into a program.
//
// The passwords are the vendor-specific entries of the Mirai botnet's
// credential table (scanner.c) that fwcert's dictionary also cites: Telnet
// root passwords of white-label IP cameras and DVRs. Generic words (admin,
// 123456, default, password…) are left to FW-CRED-014, which needs context.
// A string constant is NUL-terminated and starts after a non-printable byte
// (the previous string's NUL or padding), so the word inside a longer
// string does not match. Only ELF files: scripts and configuration are the
// account stores and pattern rules' business.

rule backdoor_password_in_elf {
  meta:
    id = "FW-CRED-015"
    secret = true
    evidence = "the known backdoor password \"{match}\" is a string constant of this program"
    description = "Telnet root passwords of white-label cameras and DVRs, as NUL-terminated strings"
    reference = "Mirai scanner.c credential table; KrebsOnSecurity 2016-10-03 and 2016-10-21"
  strings:
    $xc3511 = /[^\x20-\x7e]xc3511\x00/
    $xmhdipc = /[^\x20-\x7e]xmhdipc\x00/
    $klv123 = /[^\x20-\x7e]klv123\x00/
    $klv1234 = /[^\x20-\x7e]klv1234\x00/
    $jvbzd = /[^\x20-\x7e]jvbzd\x00/
    $hi3518 = /[^\x20-\x7e]hi3518\x00/
    $juantech = /[^\x20-\x7e]juantech\x00/
    $zte521 = /[^\x20-\x7e]Zte521\x00/
    $dahua_admin = /[^\x20-\x7e]7ujMko0admin\x00/
    $dahua_vizxv = /[^\x20-\x7e]7ujMko0vizxv\x00/
    $vizxv = /[^\x20-\x7e]vizxv\x00/
    $zlxx = /[^\x20-\x7e]zlxx\.\x00/
  condition:
    uint32(0) == 0x464c457f and any of them
}

// FW-DEBUG-008: a program carries a command line that serves a shell on the
// network without a login.
//
// Boot scripts that start such a shell are the boot model's business
// (FW-SVC-002, FW-DEBUG-005); this rule looks inside ELF programs, where a
// vendor daemon keeps the command it runs on a hidden request. Each string
// is one complete command line: a server (telnetd, utelnetd) told to run a
// shell instead of login with `-l`, netcat or socat executing a shell, or
// an interactive shell redirected to a /dev/tcp socket. Usage texts
// (`-l LOGIN`, `-e PROG`) and `-l /bin/login` do not match.

rule network_shell_command_in_elf {
  meta:
    id = "FW-DEBUG-008"
    evidence = "this program contains the command line \"{match}\", which gives a shell on the network without login"
    description = "telnetd -l /bin/sh, nc -e /bin/sh, socat exec:/bin/sh, sh -i >& /dev/tcp/"
  strings:
    $telnetd = /telnetd[^\x00\n]{0,48}\s-l\s?(\/bin\/)?(ba|a|da)?sh\b/
    $netcat = /\bn(c|cat|etcat)\s[^\x00\n]{0,48}-e\s?(\/bin\/)?(ba|a|da)?sh\b/
    $socat = /\bsocat\s[^\x00\n]{0,64}exec:['"]?(\/bin\/)?(ba|a|da)?sh\b/
    $dev_tcp = /\b(ba)?sh\s+-i\s*[>&]+\s*\/dev\/tcp\//
  condition:
    uint32(0) == 0x464c457f and any of them
}

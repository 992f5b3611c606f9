fn main() {
    let p = std::env::args().nth(1).unwrap();
    let d = std::fs::read(&p).unwrap();
    let t = std::time::Instant::now();
    let u = fwcert::unpack::unpack(d.into(), "img", &Default::default());
    eprintln!("{:?}", t.elapsed());
    for c in &u.containers {
        println!(
            "{} {:?} {} {} {:?}",
            c.path, c.status, c.size, c.description, c.problems
        );
    }
    for g in &u.gaps {
        println!(
            "gap {} {:#x}+{:#x} {:?} {:.2}",
            g.location, g.offset, g.size, g.kind, g.entropy
        );
    }
    for f in &u.filesystems {
        println!("fs {} {} nodes rootfs={}", f.chain, f.tree.len(), f.is_rootfs());
    }
    for i in &u.incidents {
        println!("incident {:?}", i);
    }
}

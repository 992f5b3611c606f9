#!/usr/bin/env python3
"""Side-by-side benchmark: fwcert's full scan against other unpackers.

Builds the release binary, then times on the same inputs, in one run and
alternating (fwcert, unsquashfs, binwalk, 7z, fwcert, ...), so that a load
change on the machine hits every tool alike:

- `fwcert scan IMAGE --format json -o FILE -q` (the whole pipeline);
- `unsquashfs` (unpack only) of every SquashFS found in the image, carved
  to its own file first, extracting into a tmpfs so disk speed does not
  count;
- `binwalk -eM` and `7z x` on the whole image, when installed.

Inputs: the bundled samples, the corpus firmware and SquashFS fixtures
(`--corpus`, default `$FWCERT_CORPUS`), and a generated 64 MiB-class
SquashFS with about 6,000 files: the regular files of the corpus's DV-ARM
root filesystem copied round-robin, plus incompressible random data.

Then batch throughput: `fwcert batch` over a folder of copies of the
inputs with `--jobs 1` and with one job per core.

Each figure is the median of `--runs` runs (wall seconds) and the peak
resident memory of the runs (GNU time's %M, per process; needs
/usr/bin/time). Prints
Markdown for docs/benchmarks.md. Nothing here is asserted: speed is
measured, not tested.
"""

import argparse
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHM = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def run(argv, cwd=None):
    """Run one process; return (wall seconds, peak RSS in MB, exit code).

    The peak comes from GNU time, not from this script's wait4: Linux
    carries a parent's peak RSS into a forked child's, so a child of this
    (large) Python process would report at least the Python process's size.
    """
    fd, rss_file = tempfile.mkstemp(prefix="fwcert-rss-", dir=SHM)
    os.close(fd)
    start = time.perf_counter()
    code = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv, cwd=cwd,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - start
    with open(rss_file) as f:
        lines = [l for l in f.read().splitlines() if l.strip().isdigit()]
    os.remove(rss_file)
    return wall, (int(lines[-1]) / 1024.0 if lines else float("nan")), code


def fresh_dir(name):
    path = os.path.join(SHM, "fwcert-bench-" + name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def carve_squashfs(image, workdir):
    """Every SquashFS 4 (LE "hsqs") in `image`, carved to its own file by
    the superblock's bytes_used. Other versions are left to fwcert alone."""
    data = open(image, "rb").read()
    out, start = [], 0
    while True:
        at = data.find(b"hsqs", start)
        if at < 0:
            break
        start = at + 4
        if len(data) < at + 96:
            continue
        major = struct.unpack_from("<H", data, at + 28)[0]
        used = struct.unpack_from("<Q", data, at + 40)[0]
        if major != 4 or used < 96 or at + used > len(data):
            continue
        path = os.path.join(workdir, "%s@%d.sqfs" % (os.path.basename(image), at))
        with open(path, "wb") as f:
            f.write(data[at:at + used])
        out.append(path)
        start = at + used
    return out


def generate_big_squashfs(corpus, workdir, files=6000, random_mib=24):
    """The 64 MiB-class SquashFS of issue 15: real ARM ELF binaries and
    scripts from the corpus root filesystem, copied round-robin into
    `files` files, plus `random_mib` MiB of incompressible data."""
    rootfs = os.path.join(corpus, "rootfs", "dvar-arm-rootfs.tar.bz2")
    if not os.path.exists(rootfs) or not shutil.which("mksquashfs"):
        return None
    members = []
    with tarfile.open(rootfs) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.size > 0:
                members.append(tar.extractfile(m).read())
    tree = os.path.join(workdir, "big-root")
    rng = random.Random(15)  # fixed seed: the same image every run
    per_dir = 200
    for i in range(files):
        d = os.path.join(tree, "usr", "lib%02d" % (i // per_dir))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%05d" % i), "wb") as f:
            f.write(members[i % len(members)])
            f.write(struct.pack("<I", i))  # no two files identical
    blobs = os.path.join(tree, "data")
    os.makedirs(blobs, exist_ok=True)
    for i in range(random_mib):
        with open(os.path.join(blobs, "blob%02d" % i), "wb") as f:
            f.write(rng.randbytes(1 << 20))
    image = os.path.join(workdir, "big-6000.sqfs")
    subprocess.run(
        ["mksquashfs", tree, image, "-comp", "xz", "-noappend", "-all-root",
         "-no-progress", "-quiet"], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(tree)
    return image


def tools_for(image, fwcert, workdir):
    """The commands to time on one input, by label."""
    out = fresh_dir("out")
    tools = {"fwcert scan": lambda: [fwcert, "scan", image, "--format", "json",
                                     "-o", out + ".json", "-q"]}
    carved = carve_squashfs(image, workdir)
    if carved and shutil.which("unsquashfs"):
        def unsquash():
            # One process per SquashFS; a shell runs them in sequence.
            cmds = " && ".join(
                "unsquashfs -no-progress -f -d %s %s" % (out + "-u%d" % i, p)
                for i, p in enumerate(carved))
            return ["sh", "-c", cmds]
        tools["unsquashfs"] = unsquash
    if shutil.which("binwalk"):
        tools["binwalk -eM"] = lambda: ["binwalk", "-q", "-eM", "--run-as=root",
                                        "-C", out + "-bw", image]
    if shutil.which("7z"):
        tools["7z x"] = lambda: ["7z", "x", "-y", "-o" + out + "-7z", image]
    return tools, out


def time_input(image, fwcert, runs, workdir):
    tools, out = tools_for(image, fwcert, workdir)
    results = {label: [] for label in tools}
    for _ in range(runs):
        for label, argv in tools.items():
            results[label].append(run(argv()))
            for name in os.listdir(SHM):
                if name.startswith("fwcert-bench-out"):
                    full = os.path.join(SHM, name)
                    if os.path.isdir(full):
                        shutil.rmtree(full, ignore_errors=True)
                    else:
                        os.remove(full)
    return results


def side_by_side(argvs):
    """Start every command at once; the wall seconds until the last ends."""
    start = time.perf_counter()
    procs = [subprocess.Popen(a, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for a in argvs]
    for p in procs:
        p.wait()
    return time.perf_counter() - start


def batch_throughput(fwcert, inputs, copies, runs, jobs):
    """`batch --jobs 1` and `--jobs JOBS` over `copies` copies of the
    inputs, alternating; and, as the machine's own ceiling for running
    JOBS things at once, JOBS independent `--jobs 1` processes side by side,
    each over its own share of the copies (copy c in share c % JOBS): no
    shared memory, locks or scheduling between them, so what they lose
    against one process doing it all is the cores' (and, on a virtual
    machine, the host's) contention alone."""
    folder = fresh_dir("batch-in")
    os.makedirs(folder)
    shares = [os.path.join(folder, "share-%d" % k) for k in range(jobs)]
    for share in shares:
        os.makedirs(share)
    for c in range(copies):
        for image in inputs:
            shutil.copyfile(image, os.path.join(shares[c % jobs], "%02d-%s" % (c, os.path.basename(image))))
    count = copies * len(inputs)
    times = {1: [], jobs: [], "apart": []}
    for _ in range(runs):
        for j in (1, jobs):
            out = fresh_dir("batch-out")
            times[j].append(run([fwcert, "batch", folder, "-o", out, "--jobs", str(j), "-q"]))
            shutil.rmtree(out, ignore_errors=True)
        outs = [fresh_dir("batch-out-%d" % k) for k in range(jobs)]
        times["apart"].append(side_by_side([[fwcert, "batch", share, "-o", out, "--jobs", "1", "-q"]
                                            for share, out in zip(shares, outs)]))
        for out in outs:
            shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return count, times


def median(samples, index):
    return statistics.median(s[index] for s in samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=os.environ.get("FWCERT_CORPUS"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-build", action="store_true",
                        help="use target/release/fwcert as it is")
    parser.add_argument("--batch-copies", type=int, default=4)
    parser.add_argument("inputs", nargs="*", help="images (default: samples, corpus, generated)")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    fwcert = os.path.join(ROOT, "target", "release", "fwcert")
    workdir = tempfile.mkdtemp(prefix="fwcert-work-", dir=SHM)
    try:
        inputs = list(args.inputs)
        if not inputs:
            samples = os.path.join(ROOT, "samples")
            inputs += sorted(os.path.join(samples, f) for f in os.listdir(samples))
            if args.corpus:
                fw = os.path.join(args.corpus, "firmware")
                inputs += sorted(os.path.join(fw, f) for f in os.listdir(fw))
                fmt = os.path.join(args.corpus, "formats")
                inputs += [os.path.join(fmt, "squashfs-xz.sqfs")]
                big = generate_big_squashfs(args.corpus, workdir)
                if big:
                    inputs.append(big)
        cores = os.cpu_count() or 1
        print("fwcert %s, %d cores, %d runs each, medians; load average at start %.1f\n" % (
            subprocess.run([fwcert, "--version"], capture_output=True, text=True).stdout.strip(),
            cores, args.runs, os.getloadavg()[0]))
        print("| input | size | tool | wall (median) | peak RSS | fwcert ÷ tool | exit |")
        print("|---|---|---|---|---|---|---|")
        for image in inputs:
            results = time_input(image, fwcert, args.runs, workdir)
            ours = median(results["fwcert scan"], 0)
            size = os.path.getsize(image) / (1 << 20)
            for label, samples in results.items():
                wall, rss = median(samples, 0), max(s[1] for s in samples)
                codes = sorted({s[2] for s in samples})
                ratio = "" if label == "fwcert scan" else "%.2f×" % (ours / wall)
                print("| %s | %.1f MiB | %s | %.3f s | %.0f MB | %s | %s |" % (
                    os.path.basename(image), size, label, wall, rss, ratio,
                    ",".join(map(str, codes))))
        batch_inputs = [i for i in inputs if os.path.getsize(i) < (32 << 20)]
        if cores > 1 and batch_inputs:
            count, times = batch_throughput(fwcert, batch_inputs, args.batch_copies,
                                            args.runs, cores)
            one, many = median(times[1], 0), median(times[cores], 0)
            apart = statistics.median(times["apart"])
            print("\nBatch of %d images: --jobs 1 %.2f s (%.1f images/s), --jobs %d %.2f s "
                  "(%.1f images/s): %.2f× the single-job throughput; peak RSS %.0f MB / %.0f MB" % (
                      count, one, count / one, cores, many, count / many, one / many,
                      max(s[1] for s in times[1]), max(s[1] for s in times[cores])))
            print("The machine's ceiling: %d independent --jobs 1 processes side by side, each over "
                  "1/%d of the images, %.2f s: %.2f× the single-job throughput" % (
                      cores, cores, apart, one / apart))
        print("\nload average at end %.1f" % os.getloadavg()[0])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

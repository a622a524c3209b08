import { execFileSync } from 'node:child_process';

/**
 * Reads a zip with readers that share nothing with the platform's writer: Python's `zipfile`
 * (which Odoo itself restores with) and Info-ZIP's `unzip`.
 */
export interface ZipReport {
  /** Entry names in archive order. */
  names: string[];
  /** First bad entry `zipfile.testzip()` found (CRC), null when all are good. */
  badEntry: string | null;
  /** Compression method of each entry (8: deflated). */
  methods: Record<string, number>;
  /** sha256 of each entry's content. */
  sha256: Record<string, string>;
  manifest: Record<string, unknown>;
  /** The first bytes of dump.sql and whether it holds owner/privilege statements. */
  dumpHead: string;
  dumpHasOwnerOrGrant: boolean;
  dumpHasTable: (table: string) => boolean;
}

const PYTHON = `
import hashlib, json, re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
out = {"names": names, "badEntry": z.testzip(), "methods": {i.filename: i.compress_type for i in z.infolist()}, "sha256": {}}
for name in names:
    h = hashlib.sha256()
    with z.open(name) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    out["sha256"][name] = h.hexdigest()
out["manifest"] = json.loads(z.read("manifest.json"))
owner = False
tables = []
head = ""
with z.open("dump.sql") as f:
    for i, raw in enumerate(f):
        line = raw.decode("utf-8", "replace")
        if i < 40: head += line
        if re.match(r"^(ALTER .* OWNER TO|GRANT |REVOKE )", line): owner = True
        m = re.match(r"^CREATE TABLE public\\.(\\w+) ", line)
        if m: tables.append(m.group(1))
out["dumpHead"] = head
out["dumpHasOwnerOrGrant"] = owner
out["tables"] = tables
print(json.dumps(out))
`;

export function readZip(path: string): ZipReport {
  const report = JSON.parse(execFileSync('python3', ['-c', PYTHON, path], { maxBuffer: 64 * 1024 * 1024 }).toString()) as Omit<
    ZipReport,
    'dumpHasTable'
  > & { tables: string[] };
  return { ...report, dumpHasTable: (table) => report.tables.includes(table) };
}

/** `unzip -l` names and `unzip -t`'s verdict. */
export function unzipListing(path: string): { names: string[]; testedOk: boolean } {
  const listing = execFileSync('unzip', ['-l', path]).toString();
  const names = listing
    .split('\n')
    .map((line) => /^\s*\d+\s+\S+\s+\S+\s+(.+)$/.exec(line)?.[1])
    .filter((name): name is string => Boolean(name));
  const tested = execFileSync('unzip', ['-tq', path]).toString();
  return { names, testedOk: /No errors detected/.test(tested) };
}

// Parses a NACHA file with @midlandsbank/node-nacha; prints entries, seconds, MB/s as JSON.
const fs = require('fs');
const nacha = require('@midlandsbank/node-nacha');
const text = fs.readFileSync(process.argv[2], 'latin1');
const t0 = process.hrtime.bigint();
const parsed = nacha.from(text);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
let entries = 0;
for (const b of parsed.data.batches || []) entries += (b.entries || []).length;
console.log(JSON.stringify({ entries, secs, mbps: text.length / 1e6 / secs, rss_mb: process.memoryUsage().rss / 1e6 }));

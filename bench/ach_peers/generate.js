// Generates a PPD file of N entries (batches of 500) with nach2; prints entries, seconds, entries/s as JSON.
const nach = require('nach2');
const n = Number(process.argv[2] || 100000);
const t0 = process.hrtime.bigint();
const file = new nach.File({
  immediateDestination: '231380104', immediateOrigin: '121042882',
  immediateDestinationName: 'Federal Reserve Bank', immediateOriginName: 'My Bank Name', referenceCode: 'KONTOR',
});
// 500 entries a batch, like the conformance file: nach2 slows down
// quadratically with the entries of one batch.
const perBatch = 500;
let batch;
const newBatch = () => new nach.Batch({
  serviceClassCode: '220', companyName: 'Name on Account', standardEntryClassCode: 'PPD',
  companyIdentification: '121042882', companyEntryDescription: 'PAYROLL', companyDescriptiveDate: 'JAN 1',
  effectiveEntryDate: new Date(), originatingDFI: '121042882',
});
for (let i = 0; i < n; i++) {
  if (i % perBatch === 0) {
    batch = newBatch();
    file.addBatch(batch);
  }
  batch.addEntry(new nach.Entry({
    receivingDFI: '231380104', DFIAccount: String(10000000 + i), amount: String(100 + (i % 1000)),
    idNumber: 'ID' + i, individualName: 'Receiver ' + i, discretionaryData: 'A1', transactionCode: '22',
  }));
}
file.generateFile((result) => {
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ entries: n, secs, eps: n / secs, bytes: result.length }));
});

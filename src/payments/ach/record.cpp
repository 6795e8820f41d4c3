#include "payments/ach/record.h"

#include <cstring>

#include "payments/ach/codes.h"

namespace kontor::payments::ach {
namespace {

constexpr FieldKind N = FieldKind::kNumeric;
constexpr FieldKind NB = FieldKind::kNumericBlank;
constexpr FieldKind AM = FieldKind::kAmount;
constexpr FieldKind A = FieldKind::kAlpha;
constexpr FieldKind C = FieldKind::kConst;

constexpr Field kFileHeader[] = {
    {"recordTypeCode", 1, 1, C},
    {"priorityCode", 2, 2, N},
    {"immediateDestination", 4, 10, A},
    {"immediateOrigin", 14, 10, A},
    {"fileCreationDate", 24, 6, N},
    {"fileCreationTime", 30, 4, NB},
    {"fileIdModifier", 34, 1, A},
    {"recordSize", 35, 3, C},
    {"blockingFactor", 38, 2, C},
    {"formatCode", 40, 1, C},
    {"immediateDestinationName", 41, 23, A},
    {"immediateOriginName", 64, 23, A},
    {"referenceCode", 87, 8, A},
};
constexpr Field kBatchHeader[] = {
    {"recordTypeCode", 1, 1, C},
    {"serviceClassCode", 2, 3, N},
    {"companyName", 5, 16, A},
    {"companyDiscretionaryData", 21, 20, A},
    {"companyIdentification", 41, 10, A},
    {"standardEntryClassCode", 51, 3, A},
    {"companyEntryDescription", 54, 10, A},
    {"companyDescriptiveDate", 64, 6, A},
    {"effectiveEntryDate", 70, 6, NB},
    {"settlementDate", 76, 3, NB},
    {"originatorStatusCode", 79, 1, A},
    {"odfiIdentification", 80, 8, N},
    {"batchNumber", 88, 7, N},
};
constexpr Field kIatBatchHeader[] = {
    {"recordTypeCode", 1, 1, C},
    {"serviceClassCode", 2, 3, N},
    {"iatIndicator", 5, 16, A},
    {"foreignExchangeIndicator", 21, 2, A},
    {"foreignExchangeReferenceIndicator", 23, 1, A},
    {"foreignExchangeReference", 24, 15, A},
    {"isoDestinationCountryCode", 39, 2, A},
    {"originatorIdentification", 41, 10, A},
    {"standardEntryClassCode", 51, 3, A},
    {"companyEntryDescription", 54, 10, A},
    {"isoOriginatingCurrencyCode", 64, 3, A},
    {"isoDestinationCurrencyCode", 67, 3, A},
    {"effectiveEntryDate", 70, 6, NB},
    {"settlementDate", 76, 3, NB},
    {"originatorStatusCode", 79, 1, A},
    {"odfiIdentification", 80, 8, N},
    {"batchNumber", 88, 7, N},
};
constexpr Field kEntry[] = {
    {"recordTypeCode", 1, 1, C},         {"transactionCode", 2, 2, N},
    {"rdfiIdentification", 4, 8, N},     {"checkDigit", 12, 1, N},
    {"dfiAccountNumber", 13, 17, A},     {"amount", 30, 10, AM},
    {"identificationNumber", 40, 15, A}, {"individualName", 55, 22, A},
    {"discretionaryData", 77, 2, A},     {"addendaRecordIndicator", 79, 1, N},
    {"traceNumber", 80, 15, N},
};
constexpr Field kCtxEntry[] = {
    {"recordTypeCode", 1, 1, C},         {"transactionCode", 2, 2, N},
    {"rdfiIdentification", 4, 8, N},     {"checkDigit", 12, 1, N},
    {"dfiAccountNumber", 13, 17, A},     {"amount", 30, 10, AM},
    {"identificationNumber", 40, 15, A}, {"numberOfAddendaRecords", 55, 4, N},
    {"receivingCompanyName", 59, 16, A}, {"reserved", 75, 2, A},
    {"discretionaryData", 77, 2, A},     {"addendaRecordIndicator", 79, 1, N},
    {"traceNumber", 80, 15, N},
};
constexpr Field kIatEntry[] = {
    {"recordTypeCode", 1, 1, C},
    {"transactionCode", 2, 2, N},
    {"rdfiIdentification", 4, 8, N},
    {"checkDigit", 12, 1, N},
    {"numberOfAddendaRecords", 13, 4, N},
    {"reserved", 17, 13, A},
    {"amount", 30, 10, AM},
    {"foreignReceiverAccountNumber", 40, 35, A},
    {"reserved2", 75, 2, A},
    {"ofacScreeningIndicator", 77, 1, A},
    {"secondaryOfacScreeningIndicator", 78, 1, A},
    {"addendaRecordIndicator", 79, 1, N},
    {"traceNumber", 80, 15, N},
};
constexpr Field kAdvEntry[] = {
    {"recordTypeCode", 1, 1, C},
    {"transactionCode", 2, 2, N},
    {"rdfiIdentification", 4, 8, N},
    {"checkDigit", 12, 1, N},
    {"dfiAccountNumber", 13, 15, A},
    {"amount", 28, 12, AM},
    {"adviceRoutingNumber", 40, 9, N},
    {"fileIdentification", 49, 5, A},
    {"achOperatorData", 54, 1, A},
    {"individualName", 55, 22, A},
    {"discretionaryData", 77, 2, A},
    {"addendaRecordIndicator", 79, 1, N},
    {"achOperatorRoutingNumber", 80, 8, N},
    {"julianDay", 88, 3, N},
    {"sequenceNumber", 91, 4, N},
};
constexpr Field kAddenda02[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"referenceInformationOne", 4, 7, A},
    {"referenceInformationTwo", 11, 3, A},
    {"terminalIdentificationCode", 14, 6, A},
    {"transactionSerialNumber", 20, 6, A},
    {"transactionDate", 26, 4, A},
    {"authorizationCodeOrExpireDate", 30, 6, A},
    {"terminalLocation", 36, 27, A},
    {"terminalCity", 63, 15, A},
    {"terminalState", 78, 2, A},
    {"traceNumber", 80, 15, N},
};
constexpr Field kAddenda05[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"paymentRelatedInformation", 4, 80, A},
    {"addendaSequenceNumber", 84, 4, N},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda10[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"transactionTypeCode", 4, 3, A},
    {"foreignPaymentAmount", 7, 18, N},
    {"foreignTraceNumber", 25, 22, A},
    {"name", 47, 35, A},
    {"reserved", 82, 6, A},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda11[] = {
    {"recordTypeCode", 1, 1, C},  {"addendaTypeCode", 2, 2, N},
    {"originatorName", 4, 35, A}, {"originatorStreetAddress", 39, 35, A},
    {"reserved", 74, 14, A},      {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda12[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"originatorCityStateProvince", 4, 35, A},
    {"originatorCountryPostalCode", 39, 35, A},
    {"reserved", 74, 14, A},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda13[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"odfiName", 4, 35, A},
    {"odfiIdNumberQualifier", 39, 2, A},
    {"odfiIdentification", 41, 34, A},
    {"odfiBranchCountryCode", 75, 3, A},
    {"reserved", 78, 10, A},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda14[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"rdfiName", 4, 35, A},
    {"rdfiIdNumberQualifier", 39, 2, A},
    {"rdfiIdentification", 41, 34, A},
    {"rdfiBranchCountryCode", 75, 3, A},
    {"reserved", 78, 10, A},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda15[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"receiverIdentificationNumber", 4, 15, A},
    {"receiverStreetAddress", 19, 35, A},
    {"reserved", 54, 34, A},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda16[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"receiverCityStateProvince", 4, 35, A},
    {"receiverCountryPostalCode", 39, 35, A},
    {"reserved", 74, 14, A},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda17[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"paymentRelatedInformation", 4, 80, A},
    {"addendaSequenceNumber", 84, 4, N},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda18[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"foreignCorrespondentBankName", 4, 35, A},
    {"foreignCorrespondentBankIdNumberQualifier", 39, 2, A},
    {"foreignCorrespondentBankIdNumber", 41, 34, A},
    {"foreignCorrespondentBankBranchCountryCode", 75, 3, A},
    {"reserved", 78, 6, A},
    {"addendaSequenceNumber", 84, 4, N},
    {"entryDetailSequenceNumber", 88, 7, N},
};
constexpr Field kAddenda98[] = {
    {"recordTypeCode", 1, 1, C},  {"addendaTypeCode", 2, 2, N},
    {"changeCode", 4, 3, A},      {"originalEntryTraceNumber", 7, 15, N},
    {"reserved", 22, 6, A},       {"originalReceivingDfiIdentification", 28, 8, N},
    {"correctedData", 36, 29, A}, {"reserved2", 65, 15, A},
    {"traceNumber", 80, 15, N},
};
constexpr Field kAddenda99[] = {
    {"recordTypeCode", 1, 1, C},       {"addendaTypeCode", 2, 2, N},
    {"returnReasonCode", 4, 3, A},     {"originalEntryTraceNumber", 7, 15, N},
    {"dateOfDeath", 22, 6, NB},        {"originalReceivingDfiIdentification", 28, 8, N},
    {"addendaInformation", 36, 44, A}, {"traceNumber", 80, 15, N},
};
constexpr Field kAddenda99Dishonored[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"dishonoredReturnReasonCode", 4, 3, A},
    {"originalEntryTraceNumber", 7, 15, N},
    {"reserved", 22, 6, A},
    {"originalReceivingDfiIdentification", 28, 8, N},
    {"reserved2", 36, 3, A},
    {"returnTraceNumber", 39, 15, N},
    {"returnSettlementDate", 54, 3, NB},
    {"returnReasonCode", 57, 2, N},
    {"addendaInformation", 59, 21, A},
    {"traceNumber", 80, 15, N},
};
constexpr Field kAddenda99Contested[] = {
    {"recordTypeCode", 1, 1, C},
    {"addendaTypeCode", 2, 2, N},
    {"contestedReturnCode", 4, 3, A},
    {"originalEntryTraceNumber", 7, 15, N},
    {"dateOriginalEntryReturned", 22, 6, NB},
    {"originalReceivingDfiIdentification", 28, 8, N},
    {"originalSettlementDate", 36, 3, NB},
    {"returnTraceNumber", 39, 15, N},
    {"returnSettlementDate", 54, 3, NB},
    {"returnReasonCode", 57, 2, N},
    {"dishonoredReturnTraceNumber", 59, 15, N},
    {"dishonoredReturnSettlementDate", 74, 3, NB},
    {"dishonoredReturnReasonCode", 77, 2, N},
    {"reserved", 79, 1, A},
    {"traceNumber", 80, 15, N},
};
constexpr Field kBatchControl[] = {
    {"recordTypeCode", 1, 1, C},
    {"serviceClassCode", 2, 3, N},
    {"entryAddendaCount", 5, 6, N},
    {"entryHash", 11, 10, N},
    {"totalDebitEntryDollarAmount", 21, 12, AM},
    {"totalCreditEntryDollarAmount", 33, 12, AM},
    {"companyIdentification", 45, 10, A},
    {"messageAuthenticationCode", 55, 19, A},
    {"reserved", 74, 6, A},
    {"odfiIdentification", 80, 8, N},
    {"batchNumber", 88, 7, N},
};
constexpr Field kAdvBatchControl[] = {
    {"recordTypeCode", 1, 1, C},
    {"serviceClassCode", 2, 3, N},
    {"entryAddendaCount", 5, 6, N},
    {"entryHash", 11, 10, N},
    {"totalDebitEntryDollarAmount", 21, 20, AM},
    {"totalCreditEntryDollarAmount", 41, 20, AM},
    {"achOperatorData", 61, 19, A},
    {"odfiIdentification", 80, 8, N},
    {"batchNumber", 88, 7, N},
};
constexpr Field kFileControl[] = {
    {"recordTypeCode", 1, 1, C},
    {"batchCount", 2, 6, N},
    {"blockCount", 8, 6, N},
    {"entryAddendaCount", 14, 8, N},
    {"entryHash", 22, 10, N},
    {"totalDebitEntryDollarAmountInFile", 32, 12, AM},
    {"totalCreditEntryDollarAmountInFile", 44, 12, AM},
    {"reserved", 56, 39, A},
};
constexpr Field kAdvFileControl[] = {
    {"recordTypeCode", 1, 1, C},
    {"batchCount", 2, 6, N},
    {"blockCount", 8, 6, N},
    {"entryAddendaCount", 14, 8, N},
    {"entryHash", 22, 10, N},
    {"totalDebitEntryDollarAmountInFile", 32, 20, AM},
    {"totalCreditEntryDollarAmountInFile", 52, 20, AM},
    {"reserved", 72, 23, A},
};

const Layout kLayouts[] = {
    {RecordKind::kFileHeader, '1', "file header", kFileHeader},
    {RecordKind::kBatchHeader, '5', "batch header", kBatchHeader},
    {RecordKind::kIatBatchHeader, '5', "batch header", kIatBatchHeader},
    {RecordKind::kEntry, '6', "entry detail", kEntry},
    {RecordKind::kCtxEntry, '6', "entry detail", kCtxEntry},
    {RecordKind::kIatEntry, '6', "entry detail", kIatEntry},
    {RecordKind::kAdvEntry, '6', "entry detail", kAdvEntry},
    {RecordKind::kAddenda02, '7', "addenda 02", kAddenda02},
    {RecordKind::kAddenda05, '7', "addenda 05", kAddenda05},
    {RecordKind::kAddenda10, '7', "addenda 10", kAddenda10},
    {RecordKind::kAddenda11, '7', "addenda 11", kAddenda11},
    {RecordKind::kAddenda12, '7', "addenda 12", kAddenda12},
    {RecordKind::kAddenda13, '7', "addenda 13", kAddenda13},
    {RecordKind::kAddenda14, '7', "addenda 14", kAddenda14},
    {RecordKind::kAddenda15, '7', "addenda 15", kAddenda15},
    {RecordKind::kAddenda16, '7', "addenda 16", kAddenda16},
    {RecordKind::kAddenda17, '7', "addenda 17", kAddenda17},
    {RecordKind::kAddenda18, '7', "addenda 18", kAddenda18},
    {RecordKind::kAddenda98, '7', "addenda 98", kAddenda98},
    {RecordKind::kAddenda99, '7', "addenda 99", kAddenda99},
    {RecordKind::kAddenda99Dishonored, '7', "addenda 99", kAddenda99Dishonored},
    {RecordKind::kAddenda99Contested, '7', "addenda 99", kAddenda99Contested},
    {RecordKind::kBatchControl, '8', "batch control", kBatchControl},
    {RecordKind::kAdvBatchControl, '8', "batch control", kAdvBatchControl},
    {RecordKind::kFileControl, '9', "file control", kFileControl},
    {RecordKind::kAdvFileControl, '9', "file control", kAdvFileControl},
};
static_assert(sizeof(kLayouts) / sizeof(kLayouts[0]) == static_cast<size_t>(RecordKind::kCount));

}  // namespace

const Field* Layout::Find(std::string_view field_name) const {
  for (const Field& f : fields)
    if (field_name == f.name) return &f;
  return nullptr;
}

const Layout& LayoutOf(RecordKind kind) { return kLayouts[static_cast<size_t>(kind)]; }

const Layout& EntryLayout(std::string_view sec) {
  if (sec == "IAT") return LayoutOf(RecordKind::kIatEntry);
  if (sec == "ADV") return LayoutOf(RecordKind::kAdvEntry);
  if (sec == "CTX" || sec == "ATX") return LayoutOf(RecordKind::kCtxEntry);
  return LayoutOf(RecordKind::kEntry);
}

const Layout* AddendaLayout(std::string_view type_code, std::string_view record) {
  if (type_code.size() != 2) return nullptr;
  switch (type_code[0] * 256 + type_code[1]) {
    case '0' * 256 + '2':
      return &LayoutOf(RecordKind::kAddenda02);
    case '0' * 256 + '5':
      return &LayoutOf(RecordKind::kAddenda05);
    case '1' * 256 + '0':
      return &LayoutOf(RecordKind::kAddenda10);
    case '1' * 256 + '1':
      return &LayoutOf(RecordKind::kAddenda11);
    case '1' * 256 + '2':
      return &LayoutOf(RecordKind::kAddenda12);
    case '1' * 256 + '3':
      return &LayoutOf(RecordKind::kAddenda13);
    case '1' * 256 + '4':
      return &LayoutOf(RecordKind::kAddenda14);
    case '1' * 256 + '5':
      return &LayoutOf(RecordKind::kAddenda15);
    case '1' * 256 + '6':
      return &LayoutOf(RecordKind::kAddenda16);
    case '1' * 256 + '7':
      return &LayoutOf(RecordKind::kAddenda17);
    case '1' * 256 + '8':
      return &LayoutOf(RecordKind::kAddenda18);
    case '9' * 256 + '8':
      return &LayoutOf(RecordKind::kAddenda98);
    case '9' * 256 + '9': {
      std::string_view code = record.size() >= 6 ? record.substr(3, 3) : std::string_view();
      if (IsDishonoredReturnCode(code)) return &LayoutOf(RecordKind::kAddenda99Dishonored);
      if (IsContestedReturnCode(code)) return &LayoutOf(RecordKind::kAddenda99Contested);
      return &LayoutOf(RecordKind::kAddenda99);
    }
    default:
      return nullptr;
  }
}

const Layout& BatchHeaderLayout(std::string_view sec) {
  return LayoutOf(sec == "IAT" ? RecordKind::kIatBatchHeader : RecordKind::kBatchHeader);
}
const Layout& BatchControlLayout(bool adv) {
  return LayoutOf(adv ? RecordKind::kAdvBatchControl : RecordKind::kBatchControl);
}
const Layout& FileControlLayout(bool adv) {
  return LayoutOf(adv ? RecordKind::kAdvFileControl : RecordKind::kFileControl);
}

}  // namespace kontor::payments::ach

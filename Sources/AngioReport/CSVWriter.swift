import Foundation

/// RFC 4180 CSV: fields separated by commas, records ended by CRLF, a field quoted when it
/// contains a comma, a double quote, CR or LF, and embedded quotes doubled (RFC 4180 section 2,
/// rules 5-7). Leading spaces are kept as data, as the RFC says.
public enum CSVWriter {
    public static func escape(_ field: String) -> String {
        let needsQuotes = field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
        guard needsQuotes else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func record(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\r\n"
    }

    public static func document(header: [String], rows: [[String]]) -> String {
        var text = record(header)
        for row in rows { text += record(row) }
        return text
    }

    /// Parses RFC 4180 text back into records (used by tests and by `summarize` checks).
    /// Accepts CRLF or LF record ends. Returns nil for an unterminated quoted field.
    public static func parse(_ text: String) -> [[String]]? {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var fieldStarted = false
        var iterator = Array(text.unicodeScalars)[...]
        while let scalar = iterator.popFirst() {
            if inQuotes {
                if scalar == "\"" {
                    if iterator.first == "\"" { field.unicodeScalars.append("\""); iterator.removeFirst() } else { inQuotes = false }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty:
                inQuotes = true; fieldStarted = true
            case ",":
                record.append(field); field = ""; fieldStarted = true
            case "\r":
                continue
            case "\n":
                record.append(field); records.append(record); record = []; field = ""; fieldStarted = false
            default:
                field.unicodeScalars.append(scalar); fieldStarted = true
            }
        }
        if inQuotes { return nil }
        if fieldStarted || !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }
}

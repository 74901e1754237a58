import Foundation

/// A validator for the subset of JSON Schema (draft 2020-12) used by docs/*.schema.json:
/// type (single or list, incl. "null" and "integer"), required, properties,
/// additionalProperties (false), items, enum, minimum, maximum.
struct AnalysisSchemaValidator {
    let schema: [String: Any]

    init(schemaURL: URL) throws {
        let data = try Data(contentsOf: schemaURL)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NSError(domain: "schema", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(schemaURL.path) is not a JSON object"])
        }
        schema = object
    }

    /// Violations as "path: message"; empty when valid.
    func validate(_ data: Data) throws -> [String] {
        let value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        var errors: [String] = []
        check(value, against: schema, path: "$", errors: &errors)
        return errors
    }

    static func typeName(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let number = value as? NSNumber {
            if CFGetTypeID(number) == CFBooleanGetTypeID() { return "boolean" }
            let double = number.doubleValue
            return double == double.rounded() && abs(double) < 1e15 && !"\(number)".contains(".") ? "integer" : "number"
        }
        if value is String { return "string" }
        if value is [Any] { return "array" }
        if value is [String: Any] { return "object" }
        return "unknown"
    }

    private func check(_ value: Any, against schema: [String: Any], path: String, errors: inout [String]) {
        if let type = schema["type"] {
            let allowed = (type as? [String]) ?? [type as? String ?? ""]
            let actual = Self.typeName(value)
            let ok = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !ok {
                errors.append("\(path): type \(actual), expected \(allowed)")
                return
            }
        }
        if let options = schema["enum"] as? [Any] {
            let matches = options.contains { option in
                if let a = option as? String, let b = value as? String { return a == b }
                if let a = option as? NSNumber, let b = value as? NSNumber { return a == b }
                return option is NSNull && value is NSNull
            }
            if !matches { errors.append("\(path): \(value) not in enum \(options)") }
        }
        if let number = value as? NSNumber, !(value is NSNull), Self.typeName(value) != "boolean" {
            if let minimum = (schema["minimum"] as? NSNumber)?.doubleValue, number.doubleValue < minimum {
                errors.append("\(path): \(number) < minimum \(minimum)")
            }
            if let maximum = (schema["maximum"] as? NSNumber)?.doubleValue, number.doubleValue > maximum {
                errors.append("\(path): \(number) > maximum \(maximum)")
            }
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                errors.append("\(path): missing required key '\(key)'")
            }
            for (key, child) in object {
                if let childSchema = properties[key] as? [String: Any] {
                    check(child, against: childSchema, path: "\(path).\(key)", errors: &errors)
                } else if let additional = schema["additionalProperties"] as? Bool, !additional {
                    errors.append("\(path): unexpected key '\(key)'")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (index, element) in array.enumerated() {
                check(element, against: items, path: "\(path)[\(index)]", errors: &errors)
            }
        }
    }
}

import Foundation

/// A JSON document decoded without losing the integer / number / boolean distinction.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), integer(Int64), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    var numericValue: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .number(let v): return v
        default: return nil
        }
    }
}

/// A validator for the subset of JSON Schema (draft 2020-12) used by docs/*.schema.json:
/// type (single or list, incl. "null" and "integer"), required, properties,
/// additionalProperties (false), items, enum, minimum, maximum.
struct AnalysisSchemaValidator {
    let schema: JSONValue

    init(schemaURL: URL) throws {
        schema = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: schemaURL))
    }

    /// Violations as "path: message"; empty when valid.
    func validate(_ data: Data) throws -> [String] {
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        var errors: [String] = []
        check(value, against: schema, path: "$", errors: &errors)
        return errors
    }

    private func check(_ value: JSONValue, against schema: JSONValue, path: String, errors: inout [String]) {
        guard case .object(let rules) = schema else { return }
        if let type = rules["type"] {
            var allowed: [String] = []
            switch type {
            case .string(let name): allowed = [name]
            case .array(let names): allowed = names.compactMap { if case .string(let n) = $0 { return n } else { return nil } }
            default: break
            }
            let actual = value.typeName
            if !(allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))) {
                errors.append("\(path): type \(actual), expected \(allowed)")
                return
            }
        }
        if case .array(let options)? = rules["enum"] {
            let matches = options.contains { option in
                if option == value { return true }
                if let a = option.numericValue, let b = value.numericValue { return a == b }
                return false
            }
            if !matches { errors.append("\(path): \(value) not in enum") }
        }
        if let number = value.numericValue {
            if let minimum = rules["minimum"]?.numericValue, number < minimum { errors.append("\(path): \(number) < minimum \(minimum)") }
            if let maximum = rules["maximum"]?.numericValue, number > maximum { errors.append("\(path): \(number) > maximum \(maximum)") }
        }
        if case .object(let object) = value {
            var properties: [String: JSONValue] = [:]
            if case .object(let p)? = rules["properties"] { properties = p }
            if case .array(let required)? = rules["required"] {
                for case .string(let key) in required where object[key] == nil {
                    errors.append("\(path): missing required key '\(key)'")
                }
            }
            for key in object.keys.sorted() {
                guard let child = object[key] else { continue }
                if let childSchema = properties[key] {
                    check(child, against: childSchema, path: "\(path).\(key)", errors: &errors)
                } else if case .bool(false)? = rules["additionalProperties"] {
                    errors.append("\(path): unexpected key '\(key)'")
                }
            }
        }
        if case .array(let array) = value, let items = rules["items"] {
            for (index, element) in array.enumerated() {
                check(element, against: items, path: "\(path)[\(index)]", errors: &errors)
            }
        }
    }
}

import VesselCore

/// An 8-bit sRGB colour.
public struct RGBColor: Sendable, Equatable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    public static let black = RGBColor(0, 0, 0)
    public static let white = RGBColor(255, 255, 255)
    // A palette that stays distinguishable on grey X-ray backgrounds and for the common
    // red-green colour-vision deficiencies (after Okabe & Ito's palette).
    public static let vesselEdge = RGBColor(240, 228, 66)     // yellow
    public static let centerline = RGBColor(0, 158, 115)      // bluish green
    public static let maskContour = RGBColor(86, 180, 233)    // sky blue
    public static let lesion = RGBColor(213, 94, 0)           // vermillion
    public static let lesionExtent = RGBColor(230, 159, 0)    // orange
    public static let reference = RGBColor(0, 114, 178)       // blue
    public static let panel = RGBColor(24, 24, 28)
    public static let panelText = RGBColor(235, 235, 235)
    public static let mutedText = RGBColor(170, 170, 178)
}

/// An in-memory RGB8 raster (row-major, 3 bytes per pixel) with the few anti-aliased
/// primitives the annotated report needs. Every primitive clips to the canvas, so callers
/// may pass coordinates outside it (e.g. a label near the border) without checks.
///
/// Coordinates follow the project convention: `x` = column, `y` = row, pixel centres at
/// integer coordinates.
public struct RGBCanvas: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `pixels[3 * (y * width + x) + channel]`, channel 0 = red.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGBColor = .black) {
        let w = max(0, width), h = max(0, height)
        self.width = w
        self.height = h
        var buffer = [UInt8](repeating: 0, count: w * h * 3)
        if background != .black {
            for index in 0..<(w * h) {
                buffer[3 * index] = background.r
                buffer[3 * index + 1] = background.g
                buffer[3 * index + 2] = background.b
            }
        }
        self.pixels = buffer
    }

    public subscript(x: Int, y: Int) -> RGBColor {
        get {
            let offset = 3 * (y * width + x)
            return RGBColor(pixels[offset], pixels[offset + 1], pixels[offset + 2])
        }
        set {
            let offset = 3 * (y * width + x)
            pixels[offset] = newValue.r
            pixels[offset + 1] = newValue.g
            pixels[offset + 2] = newValue.b
        }
    }

    /// Blends `color` over the pixel with opacity `alpha` (0...1); ignores pixels off the canvas.
    @inline(__always)
    public mutating func blend(x: Int, y: Int, color: RGBColor, alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(alpha, 1)
        let offset = 3 * (y * width + x)
        @inline(__always) func mix(_ old: UInt8, _ new: UInt8) -> UInt8 {
            UInt8((Double(old) * (1 - a) + Double(new) * a).rounded())
        }
        pixels[offset] = mix(pixels[offset], color.r)
        pixels[offset + 1] = mix(pixels[offset + 1], color.g)
        pixels[offset + 2] = mix(pixels[offset + 2], color.b)
    }

    /// Fills the axis-aligned rectangle [x, x+width) x [y, y+height) with `color` at `alpha`.
    public mutating func fillRect(x: Int, y: Int, width rectWidth: Int, height rectHeight: Int,
                                  color: RGBColor, alpha: Double = 1) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x + rectWidth), y1 = min(height, y + rectHeight)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            for column in x0..<x1 { blend(x: column, y: row, color: color, alpha: alpha) }
        }
    }

    /// Outlines a rectangle with a 1-pixel border (scaled by `thickness`).
    public mutating func strokeRect(x: Int, y: Int, width rectWidth: Int, height rectHeight: Int,
                                    color: RGBColor, thickness: Int = 1, alpha: Double = 1) {
        fillRect(x: x, y: y, width: rectWidth, height: thickness, color: color, alpha: alpha)
        fillRect(x: x, y: y + rectHeight - thickness, width: rectWidth, height: thickness, color: color, alpha: alpha)
        fillRect(x: x, y: y + thickness, width: thickness, height: rectHeight - 2 * thickness, color: color, alpha: alpha)
        fillRect(x: x + rectWidth - thickness, y: y + thickness, width: thickness,
                 height: rectHeight - 2 * thickness, color: color, alpha: alpha)
    }

    /// Draws an anti-aliased line of the given width with round caps.
    public mutating func drawLine(from start: Point2D, to end: Point2D, color: RGBColor,
                                  width lineWidth: Double = 1, alpha: Double = 1) {
        strokePolyline([start, end], color: color, width: lineWidth, alpha: alpha)
    }

    /// Draws an anti-aliased polyline of the given width with round joins and caps.
    ///
    /// Coverage is the clamped signed distance to the nearest segment
    /// (`width/2 + 0.5 - distance`), accumulated as a per-pixel maximum over all segments and
    /// blended once, so joints of a semi-transparent polyline do not darken where segments overlap.
    public mutating func strokePolyline(_ points: [Point2D], color: RGBColor, width lineWidth: Double = 1,
                                        alpha: Double = 1, closed: Bool = false, dash: (on: Double, off: Double)? = nil) {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard !finite.isEmpty, width > 0, height > 0 else { return }
        let half = max(lineWidth, 0.5) / 2
        let reach = half + 1
        var minX = Double.infinity, minY = Double.infinity, maxX = -Double.infinity, maxY = -Double.infinity
        for p in finite { minX = min(minX, p.x); minY = min(minY, p.y); maxX = max(maxX, p.x); maxY = max(maxY, p.y) }
        let boxX0 = max(0, Int((minX - reach).rounded(.down))), boxY0 = max(0, Int((minY - reach).rounded(.down)))
        let boxX1 = min(width - 1, Int((maxX + reach).rounded(.up))), boxY1 = min(height - 1, Int((maxY + reach).rounded(.up)))
        guard boxX0 <= boxX1, boxY0 <= boxY1 else { return }
        let boxWidth = boxX1 - boxX0 + 1
        var coverage = [Float](repeating: 0, count: boxWidth * (boxY1 - boxY0 + 1))

        var segments: [(Point2D, Point2D)] = []
        if finite.count == 1 { segments.append((finite[0], finite[0])) }
        for index in 0..<max(0, finite.count - 1) { segments.append((finite[index], finite[index + 1])) }
        if closed, finite.count > 2 { segments.append((finite[finite.count - 1], finite[0])) }
        if let dash, dash.on > 0, dash.off >= 0 { segments = Self.dashed(segments, on: dash.on, off: dash.off) }

        for (a, b) in segments {
            let sx0 = max(boxX0, Int((min(a.x, b.x) - reach).rounded(.down)))
            let sx1 = min(boxX1, Int((max(a.x, b.x) + reach).rounded(.up)))
            let sy0 = max(boxY0, Int((min(a.y, b.y) - reach).rounded(.down)))
            let sy1 = min(boxY1, Int((max(a.y, b.y) + reach).rounded(.up)))
            guard sx0 <= sx1, sy0 <= sy1 else { continue }
            let dx = b.x - a.x, dy = b.y - a.y
            let lengthSquared = dx * dx + dy * dy
            for y in sy0...sy1 {
                for x in sx0...sx1 {
                    let px = Double(x) - a.x, py = Double(y) - a.y
                    var t = lengthSquared > 0 ? (px * dx + py * dy) / lengthSquared : 0
                    t = min(1, max(0, t))
                    let ex = px - t * dx, ey = py - t * dy
                    let distance = (ex * ex + ey * ey).squareRoot()
                    let cover = Float(min(1, max(0, half + 0.5 - distance)))
                    let index = (y - boxY0) * boxWidth + (x - boxX0)
                    if cover > coverage[index] { coverage[index] = cover }
                }
            }
        }
        for y in boxY0...boxY1 {
            for x in boxX0...boxX1 {
                let cover = coverage[(y - boxY0) * boxWidth + (x - boxX0)]
                if cover > 0 { blend(x: x, y: y, color: color, alpha: alpha * Double(cover)) }
            }
        }
    }

    /// Splits segments into dashes of `on` pixels separated by `off` pixels, continuing the
    /// dash phase across segment boundaries.
    static func dashed(_ segments: [(Point2D, Point2D)], on: Double, off: Double) -> [(Point2D, Point2D)] {
        var result: [(Point2D, Point2D)] = []
        var phase = 0.0  // distance travelled within the current on+off period
        let period = on + off
        for (a, b) in segments {
            let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
            guard length > 0 else { continue }
            var travelled = 0.0
            while travelled < length {
                let inOn = phase < on
                let step = min(length - travelled, inOn ? on - phase : period - phase)
                if inOn {
                    let t0 = travelled / length, t1 = (travelled + step) / length
                    result.append((Point2D(x: a.x + (b.x - a.x) * t0, y: a.y + (b.y - a.y) * t0),
                                   Point2D(x: a.x + (b.x - a.x) * t1, y: a.y + (b.y - a.y) * t1)))
                }
                travelled += step
                phase += step
                if phase >= period { phase -= period }
            }
        }
        return result
    }

    /// Draws an anti-aliased circle outline.
    public mutating func strokeCircle(center: Point2D, radius: Double, color: RGBColor,
                                      width lineWidth: Double = 1, alpha: Double = 1) {
        let half = lineWidth / 2
        let reach = radius + half + 1
        let x0 = max(0, Int((center.x - reach).rounded(.down))), x1 = min(width - 1, Int((center.x + reach).rounded(.up)))
        let y0 = max(0, Int((center.y - reach).rounded(.down))), y1 = min(height - 1, Int((center.y + reach).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = Double(x) - center.x, dy = Double(y) - center.y
                let distance = abs((dx * dx + dy * dy).squareRoot() - radius)
                let cover = min(1, max(0, half + 0.5 - distance))
                if cover > 0 { blend(x: x, y: y, color: color, alpha: alpha * cover) }
            }
        }
    }

    /// Fills an anti-aliased disc.
    public mutating func fillCircle(center: Point2D, radius: Double, color: RGBColor, alpha: Double = 1) {
        let reach = radius + 1
        let x0 = max(0, Int((center.x - reach).rounded(.down))), x1 = min(width - 1, Int((center.x + reach).rounded(.up)))
        let y0 = max(0, Int((center.y - reach).rounded(.down))), y1 = min(height - 1, Int((center.y + reach).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = Double(x) - center.x, dy = Double(y) - center.y
                let cover = min(1, max(0, radius + 0.5 - (dx * dx + dy * dy).squareRoot()))
                if cover > 0 { blend(x: x, y: y, color: color, alpha: alpha * cover) }
            }
        }
    }

    /// Draws `text` with the embedded bitmap font, top-left corner at (x, y), each font pixel
    /// a `scale` x `scale` block. Newlines start a new line. Returns the drawn extent.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGBColor,
                                  alpha: Double = 1) -> (width: Int, height: Int) {
        let s = max(1, scale)
        var penY = y
        var widest = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines {
            var penX = x
            for character in line {
                let rows = BitmapFont.rows(for: character)
                for (rowIndex, bits) in rows.enumerated() where bits != 0 {
                    for column in 0..<BitmapFont.glyphWidth where bits & (0b10000 >> UInt8(column)) != 0 {
                        fillRect(x: penX + column * s, y: penY + rowIndex * s, width: s, height: s, color: color, alpha: alpha)
                    }
                }
                penX += BitmapFont.advance * s
            }
            widest = max(widest, BitmapFont.width(of: String(line), scale: s))
            penY += BitmapFont.lineHeight * s
        }
        let height = lines.isEmpty ? 0 : (lines.count - 1) * BitmapFont.lineHeight * s + BitmapFont.glyphHeight * s
        return (widest, height)
    }

    /// Draws a text label on a semi-transparent box so it stays legible over any background.
    /// The box is shifted to stay inside the canvas. Returns the box rectangle.
    @discardableResult
    public mutating func drawLabel(_ text: String, x: Int, y: Int, scale: Int, color: RGBColor,
                                   background: RGBColor = .black, backgroundAlpha: Double = 0.7,
                                   padding: Int? = nil) -> (x: Int, y: Int, width: Int, height: Int) {
        let s = max(1, scale)
        let pad = padding ?? 2 * s
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let textWidth = lines.map { BitmapFont.width(of: String($0), scale: s) }.max() ?? 0
        let textHeight = lines.isEmpty ? 0 : (lines.count - 1) * BitmapFont.lineHeight * s + (BitmapFont.glyphHeight - 1) * s
        let boxWidth = textWidth + 2 * pad, boxHeight = textHeight + 2 * pad
        let boxX = min(max(0, x), max(0, width - boxWidth))
        let boxY = min(max(0, y), max(0, height - boxHeight))
        fillRect(x: boxX, y: boxY, width: boxWidth, height: boxHeight, color: background, alpha: backgroundAlpha)
        drawText(text, x: boxX + pad, y: boxY + pad, scale: s, color: color)
        return (boxX, boxY, boxWidth, boxHeight)
    }

    /// The rectangle [x, x+width) x [y, y+height), clipped to the canvas.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> RGBCanvas {
        let x0 = max(0, min(width, x)), y0 = max(0, min(height, y))
        let x1 = max(x0, min(width, x + cropWidth)), y1 = max(y0, min(height, y + cropHeight))
        var out = RGBCanvas(width: x1 - x0, height: y1 - y0)
        out.paste(self, x: -x0, y: -y0)
        return out
    }

    /// Copies `source` into this canvas with its top-left corner at (x, y), clipped.
    public mutating func paste(_ source: RGBCanvas, x: Int, y: Int) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x + source.width), y1 = min(height, y + source.height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            let destination = 3 * (row * width + x0)
            let origin = 3 * ((row - y) * source.width + (x0 - x))
            let count = 3 * (x1 - x0)
            pixels.replaceSubrange(destination..<(destination + count), with: source.pixels[origin..<(origin + count)])
        }
    }
}

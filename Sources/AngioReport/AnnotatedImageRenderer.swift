import Foundation
import VesselCore

/// Renders a `ReportScene` into the annotated report image:
///
/// ```
/// +------------------------------------------+
/// | header: file name, frame, calibration    |
/// +------------------------------------------+
/// | analysed frame (display-windowed grey)   |
/// |  mask contour, QCA edges, centerlines,   |
/// |  lesion markers + labels, top-lesion     |
/// |  ticks (start / MLD / end), scale bar    |
/// +------------------------------------------+
/// | diameter profile of the top lesion       |
/// | lesion table                             |
/// +------------------------------------------+
/// ```
///
/// Small frames are enlarged by an integer factor (nearest neighbour, so pixels stay honest)
/// until the image is at least `minimumImageWidth` wide, and text is drawn at 2x so it stays
/// readable at 100 % zoom. All geometry in the scene is in frame pixels; it is mapped to canvas
/// pixels by `x * factor + (factor - 1) / 2` (pixel centres stay pixel centres).
public struct AnnotatedImageRenderer: Sendable {
    public var minimumImageWidth = 512
    public var textScale = 2
    public var thumbnailMaxSide = 160

    public init() {}

    /// Canvas layout computed for a scene (exposed for tests).
    public struct Layout: Sendable, Equatable {
        public var factor: Int
        public var headerHeight: Int
        public var imageOrigin: (x: Int, y: Int)
        public var imageSize: (width: Int, height: Int)
        public var panelOrigin: Int
        public var panelHeight: Int
        public var canvasWidth: Int
        public var canvasHeight: Int
        public var plotRect: (x: Int, y: Int, width: Int, height: Int)?

        public static func == (a: Layout, b: Layout) -> Bool {
            a.factor == b.factor && a.headerHeight == b.headerHeight && a.imageOrigin == b.imageOrigin
                && a.imageSize == b.imageSize && a.panelOrigin == b.panelOrigin && a.panelHeight == b.panelHeight
                && a.canvasWidth == b.canvasWidth && a.canvasHeight == b.canvasHeight
                && a.plotRect.map { [$0.x, $0.y, $0.width, $0.height] } == b.plotRect.map { [$0.x, $0.y, $0.width, $0.height] }
        }
    }

    var lineHeight: Int { BitmapFont.lineHeight * textScale }
    var charWidth: Int { BitmapFont.advance * textScale }
    var margin: Int { 4 * textScale }

    public func layout(for scene: ReportScene) -> Layout {
        let frameWidth = max(1, scene.frame.width), frameHeight = max(1, scene.frame.height)
        let factor = max(1, (minimumImageWidth + frameWidth - 1) / frameWidth)
        let imageWidth = frameWidth * factor, imageHeight = frameHeight * factor
        let headerHeight = 2 * margin + 2 * lineHeight
        let panelOrigin = headerHeight + imageHeight
        var plotRect: (x: Int, y: Int, width: Int, height: Int)? = nil
        var panelHeight = 0
        let lesionLines = max(1, scene.lesions.count)
        if topLesionProfile(scene) != nil {
            // Title line, plot, x-axis labels line, then the lesion table.
            let plotHeight = max(140, imageWidth * 3 / 10)
            let leftAxis = 6 * charWidth
            plotRect = (margin + leftAxis, panelOrigin + margin + lineHeight + margin,
                        imageWidth - 2 * margin - leftAxis - charWidth, plotHeight)
            panelHeight = margin + lineHeight + margin + plotHeight + 2 * lineHeight + margin + lesionLines * lineHeight + margin
        } else {
            panelHeight = 2 * margin + max(1, lesionLines) * lineHeight
        }
        return Layout(factor: factor, headerHeight: headerHeight, imageOrigin: (0, headerHeight),
                      imageSize: (imageWidth, imageHeight), panelOrigin: panelOrigin, panelHeight: panelHeight,
                      canvasWidth: imageWidth, canvasHeight: panelOrigin + panelHeight, plotRect: plotRect)
    }

    /// A thumbnail of the annotated frame alone (no header or plot panel), so index rows stay
    /// compact and show the vessel and lesion markers.
    public func thumbnail(of canvas: RGBCanvas, layout: Layout) -> RGBCanvas {
        canvas.cropped(x: layout.imageOrigin.x, y: layout.imageOrigin.y, width: layout.imageSize.width,
                       height: layout.imageSize.height).thumbnail(maxSide: thumbnailMaxSide)
    }

    /// The full annotated image.
    public func render(_ scene: ReportScene) -> RGBCanvas {
        let layout = layout(for: scene)
        var canvas = RGBCanvas(width: layout.canvasWidth, height: layout.canvasHeight, background: .panel)
        if scene.frame.width > 0, scene.frame.height > 0 {
            canvas.paste(DisplayWindow.canvas(scene.frame, upscale: layout.factor), x: layout.imageOrigin.x, y: layout.imageOrigin.y)
        }
        let map = CoordinateMap(factor: layout.factor, originX: layout.imageOrigin.x, originY: layout.imageOrigin.y)
        drawMaskContour(scene, map: map, on: &canvas)
        drawCenterlines(scene, map: map, on: &canvas)
        drawVesselEdges(scene, map: map, on: &canvas)
        drawTopLesionTicks(scene, map: map, on: &canvas)
        var occupied: [Rect] = []
        drawScaleBar(scene, layout: layout, on: &canvas, occupied: &occupied)
        drawLesionMarkers(scene, map: map, layout: layout, on: &canvas, occupied: &occupied)
        drawHeader(scene, layout: layout, on: &canvas)
        drawPanel(scene, layout: layout, on: &canvas)
        return canvas
    }

    // MARK: - Geometry helpers

    struct CoordinateMap {
        var factor: Int
        var originX: Int
        var originY: Int
        func callAsFunction(_ p: Point2D) -> Point2D {
            let f = Double(factor)
            return Point2D(x: Double(originX) + p.x * f + (f - 1) / 2, y: Double(originY) + p.y * f + (f - 1) / 2)
        }
    }

    struct Rect {
        var x: Int, y: Int, width: Int, height: Int
        func intersects(_ other: Rect) -> Bool {
            x < other.x + other.width && other.x < x + width && y < other.y + other.height && other.y < y + height
        }
    }

    /// Formats a length in pixels as mm when calibrated, else px.
    static func formatLength(_ pixels: Double, mmPerPixel: Double?, digits: Int = 2) -> String {
        guard pixels.isFinite else { return "n/a" }
        if let mmPerPixel, mmPerPixel > 0 { return String(format: "%.\(digits)f mm", pixels * mmPerPixel) }
        return String(format: "%.1f px", pixels)
    }

    /// Short, readable names of the calibration sources (`CalibrationSource` raw values).
    public static func calibrationLabel(_ source: String) -> String {
        switch source {
        case "imagerPixelSpacingMagnification": return "imager spacing / mag."
        case "imagerPixelSpacingGeometry": return "imager spacing, SID/SOD"
        case "pixelSpacing": return "Pixel Spacing"
        case "user": return "user value"
        case "none": return ""
        default: return source
        }
    }

    static func formatPercent(_ value: Double) -> String {
        value.isFinite ? String(format: "%.0f%%", value) : "n/a"
    }

    /// Shortens `text` to at most `maxCharacters`, keeping its start and end (file names differ
    /// at both ends).
    static func truncateMiddle(_ text: String, maxCharacters: Int) -> String {
        guard maxCharacters > 3, text.count > maxCharacters else { return text }
        let keep = maxCharacters - 3
        let head = keep / 2 + keep % 2, tail = keep / 2
        return String(text.prefix(head)) + "..." + String(text.suffix(tail))
    }

    func topLesionProfile(_ scene: ReportScene) -> (lesion: LesionOverlay, vessel: VesselOverlay)? {
        guard let lesion = scene.lesions.min(by: { $0.rank < $1.rank }),
              scene.vessels.indices.contains(lesion.vesselIndex) else { return nil }
        let vessel = scene.vessels[lesion.vesselIndex]
        guard vessel.arcLength.count >= 2, vessel.diameter.count == vessel.arcLength.count else { return nil }
        return (lesion, vessel)
    }

    // MARK: - Image overlays

    private func drawMaskContour(_ scene: ReportScene, map: CoordinateMap, on canvas: inout RGBCanvas) {
        guard let mask = scene.vesselMask, mask.width == scene.frame.width, mask.height == scene.frame.height else { return }
        let f = map.factor
        for y in 0..<mask.height {
            for x in 0..<mask.width where mask.bits[y * mask.width + x] != 0 {
                // A boundary pixel has at least one 4-neighbour outside the mask (or the frame).
                let boundary = x == 0 || y == 0 || x == mask.width - 1 || y == mask.height - 1
                    || mask.bits[y * mask.width + x - 1] == 0 || mask.bits[y * mask.width + x + 1] == 0
                    || mask.bits[(y - 1) * mask.width + x] == 0 || mask.bits[(y + 1) * mask.width + x] == 0
                if boundary {
                    canvas.fillRect(x: map.originX + x * f, y: map.originY + y * f, width: f, height: f,
                                    color: .maskContour, alpha: 0.45)
                }
            }
        }
    }

    private func drawCenterlines(_ scene: ReportScene, map: CoordinateMap, on canvas: inout RGBCanvas) {
        let width = max(1.0, Double(map.factor) * 0.6)
        for line in scene.centerlines where line.count >= 2 {
            canvas.strokePolyline(line.map { map($0) }, color: .centerline, width: width, alpha: 0.85)
        }
    }

    private func drawVesselEdges(_ scene: ReportScene, map: CoordinateMap, on canvas: inout RGBCanvas) {
        let width = max(1.2, Double(map.factor) * 0.5)
        for vessel in scene.vessels {
            for edge in [vessel.leftEdge, vessel.rightEdge] where edge.count >= 2 {
                // Break the edge where it is missing (non-finite) rather than bridging the gap.
                var run: [Point2D] = []
                for point in edge {
                    if point.x.isFinite && point.y.isFinite {
                        run.append(map(point))
                    } else {
                        if run.count >= 2 { canvas.strokePolyline(run, color: .vesselEdge, width: width, alpha: 0.9) }
                        run.removeAll()
                    }
                }
                if run.count >= 2 { canvas.strokePolyline(run, color: .vesselEdge, width: width, alpha: 0.9) }
            }
        }
    }

    /// Tick marks across the vessel at the top lesion's start and end (lesion extent colour)
    /// and at its MLD (lesion colour), extended a little beyond both edges.
    private func drawTopLesionTicks(_ scene: ReportScene, map: CoordinateMap, on canvas: inout RGBCanvas) {
        guard let (lesion, vessel) = topLesionProfile(scene) else { return }
        let ticks: [(Int, RGBColor)] = [(lesion.startIndex, .lesionExtent), (lesion.endIndex, .lesionExtent),
                                        (lesion.mldIndex, .lesion)]
        let extension_ = 5.0 * Double(textScale)
        for (index, color) in ticks {
            guard vessel.leftEdge.indices.contains(index), vessel.rightEdge.indices.contains(index) else { continue }
            let a = map(vessel.leftEdge[index]), b = map(vessel.rightEdge[index])
            guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { continue }
            let dx = b.x - a.x, dy = b.y - a.y
            let length = max(1e-9, (dx * dx + dy * dy).squareRoot())
            let ux = dx / length, uy = dy / length
            let start = Point2D(x: a.x - ux * extension_, y: a.y - uy * extension_)
            let end = Point2D(x: b.x + ux * extension_, y: b.y + uy * extension_)
            canvas.drawLine(from: start, to: end, color: .black, width: 4.5, alpha: 0.6)
            canvas.drawLine(from: start, to: end, color: color, width: 2.5)
        }
    }

    private func drawLesionMarkers(_ scene: ReportScene, map: CoordinateMap, layout: Layout,
                                   on canvas: inout RGBCanvas, occupied: inout [Rect]) {
        let imageRect = Rect(x: layout.imageOrigin.x, y: layout.imageOrigin.y,
                             width: layout.imageSize.width, height: layout.imageSize.height)
        for lesion in scene.lesions.sorted(by: { $0.rank < $1.rank }) {
            guard scene.vessels.indices.contains(lesion.vesselIndex) else { continue }
            let vessel = scene.vessels[lesion.vesselIndex]
            guard vessel.centerline.indices.contains(lesion.mldIndex) else { continue }
            let centre = map(vessel.centerline[lesion.mldIndex])
            guard centre.x.isFinite, centre.y.isFinite else { continue }
            let referenceRadius = lesion.referenceDiameterPx.isFinite ? lesion.referenceDiameterPx / 2 : 4
            let radius = max(6, referenceRadius * Double(layout.factor) + 5)
            canvas.strokeCircle(center: centre, radius: radius, color: .black, width: 3.5, alpha: 0.6)
            canvas.strokeCircle(center: centre, radius: radius, color: .lesion, width: 2)

            let text = "#\(lesion.rank) " + Self.formatPercent(lesion.percentDiameterStenosis) + " "
                + Self.formatLength(lesion.minimalLumenDiameterPx, mmPerPixel: scene.mmPerPixel)
            let pad = 2 * textScale
            let boxWidth = BitmapFont.width(of: text, scale: textScale) + 2 * pad
            let boxHeight = (BitmapFont.glyphHeight - 1) * textScale + 2 * pad
            // Try positions around the marker, farther out each round; keep the first one that
            // stays inside the image and overlaps no label placed before.
            var chosen: Rect? = nil
            search: for distance in stride(from: radius + 4, through: radius + 4 + 6 * Double(lineHeight), by: Double(lineHeight)) {
                let d = Int(distance)
                let candidates = [
                    Rect(x: Int(centre.x) + d, y: Int(centre.y) - d - boxHeight, width: boxWidth, height: boxHeight),
                    Rect(x: Int(centre.x) + d, y: Int(centre.y) + d, width: boxWidth, height: boxHeight),
                    Rect(x: Int(centre.x) - d - boxWidth, y: Int(centre.y) - d - boxHeight, width: boxWidth, height: boxHeight),
                    Rect(x: Int(centre.x) - d - boxWidth, y: Int(centre.y) + d, width: boxWidth, height: boxHeight),
                ]
                for candidate in candidates {
                    let inside = candidate.x >= imageRect.x && candidate.y >= imageRect.y
                        && candidate.x + candidate.width <= imageRect.x + imageRect.width
                        && candidate.y + candidate.height <= imageRect.y + imageRect.height
                    if inside && !occupied.contains(where: { $0.intersects(candidate) }) { chosen = candidate; break search }
                }
            }
            let box = chosen ?? Rect(x: min(max(imageRect.x, Int(centre.x) + Int(radius) + 4), imageRect.x + imageRect.width - boxWidth),
                                     y: min(max(imageRect.y, Int(centre.y) - boxHeight / 2), imageRect.y + imageRect.height - boxHeight),
                                     width: boxWidth, height: boxHeight)
            // Leader line from the circle to the nearest point of the label box.
            let nearestX = min(max(centre.x, Double(box.x)), Double(box.x + box.width))
            let nearestY = min(max(centre.y, Double(box.y)), Double(box.y + box.height))
            let dx = nearestX - centre.x, dy = nearestY - centre.y
            let distance = (dx * dx + dy * dy).squareRoot()
            if distance > radius + 2 {
                let start = Point2D(x: centre.x + dx / distance * radius, y: centre.y + dy / distance * radius)
                canvas.drawLine(from: start, to: Point2D(x: nearestX, y: nearestY), color: .lesion, width: 1.5)
            }
            canvas.fillRect(x: box.x, y: box.y, width: box.width, height: box.height, color: .black, alpha: 0.72)
            canvas.strokeRect(x: box.x, y: box.y, width: box.width, height: box.height, color: .lesion, thickness: 1)
            canvas.drawText(text, x: box.x + pad, y: box.y + pad, scale: textScale,
                            color: lesion.rank == 1 ? .white : .panelText)
            occupied.append(box)
        }
    }

    /// A scale bar of a round length (1, 2, 5, 10, 20 or 50 mm) near 20 % of the image width,
    /// bottom-left; or an "uncalibrated" note when there is no calibration.
    private func drawScaleBar(_ scene: ReportScene, layout: Layout, on canvas: inout RGBCanvas, occupied: inout [Rect]) {
        let left = layout.imageOrigin.x + margin * 2
        let bottom = layout.imageOrigin.y + layout.imageSize.height - margin * 2
        guard let mmPerPixel = scene.mmPerPixel, mmPerPixel > 0, mmPerPixel.isFinite else {
            let box = canvas.drawLabel("uncalibrated: lengths in px", x: left, y: bottom - lineHeight,
                                       scale: textScale, color: .panelText)
            occupied.append(Rect(x: box.x, y: box.y, width: box.width, height: box.height))
            return
        }
        let canvasPixelsPerMM = Double(layout.factor) / mmPerPixel
        let target = Double(layout.imageSize.width) * 0.2 / canvasPixelsPerMM
        let candidates: [Double] = [1, 2, 5, 10, 20, 50, 100]
        let lengthMM = candidates.min(by: { abs(log($0 / target)) < abs(log($1 / target)) }) ?? 10
        let barLength = Int((lengthMM * canvasPixelsPerMM).rounded())
        let barHeight = 2 * textScale + 2
        let label = String(format: "%g mm", lengthMM)
        let labelWidth = BitmapFont.width(of: label, scale: textScale)
        let boxWidth = max(barLength, labelWidth) + 4 * textScale
        let boxHeight = barHeight + lineHeight + 4 * textScale
        let boxX = left - 2 * textScale, boxY = bottom - boxHeight
        canvas.fillRect(x: boxX, y: boxY, width: boxWidth, height: boxHeight, color: .black, alpha: 0.6)
        canvas.drawText(label, x: left + (barLength - labelWidth) / 2, y: boxY + 2 * textScale, scale: textScale, color: .white)
        let barY = boxY + 2 * textScale + lineHeight
        canvas.fillRect(x: left, y: barY, width: barLength, height: barHeight, color: .white)
        // End caps make the exact extent unambiguous.
        canvas.fillRect(x: left, y: barY - 2 * textScale, width: 2, height: barHeight + 4 * textScale, color: .white)
        canvas.fillRect(x: left + barLength - 2, y: barY - 2 * textScale, width: 2, height: barHeight + 4 * textScale, color: .white)
        occupied.append(Rect(x: boxX, y: boxY - 2 * textScale, width: boxWidth, height: boxHeight + 4 * textScale))
    }

    // MARK: - Header and panel

    private func drawHeader(_ scene: ReportScene, layout: Layout, on canvas: inout RGBCanvas) {
        let maxCharacters = max(8, (layout.canvasWidth - 2 * margin) / charWidth)
        var first = scene.title
        if let frameIndex = scene.frameIndex {
            let frameText = scene.frameCount.map { "  frame \(frameIndex)/\($0)" } ?? "  frame \(frameIndex)"
            first = Self.truncateMiddle(scene.title, maxCharacters: max(8, maxCharacters - frameText.count)) + frameText
        } else {
            first = Self.truncateMiddle(first, maxCharacters: maxCharacters)
        }
        var second: String
        let source = scene.calibrationSource.map(Self.calibrationLabel) ?? ""
        if let mmPerPixel = scene.mmPerPixel, mmPerPixel > 0 {
            second = String(format: "%.4g mm/px", mmPerPixel)
            if !source.isEmpty { second += " (\(source))" }
        } else {
            second = "uncalibrated: lengths in px"
        }
        if !scene.notes.isEmpty { second += "; " + scene.notes.joined(separator: "; ") }
        canvas.drawText(first, x: margin, y: margin, scale: textScale, color: .white)
        canvas.drawText(Self.truncateMiddle(second, maxCharacters: maxCharacters), x: margin, y: margin + lineHeight,
                        scale: textScale, color: .mutedText)
    }

    private func drawPanel(_ scene: ReportScene, layout: Layout, on canvas: inout RGBCanvas) {
        var y = layout.panelOrigin + margin
        if let plot = layout.plotRect, let (lesion, vessel) = topLesionProfile(scene) {
            let unit = (scene.mmPerPixel ?? 0) > 0 ? "mm" : "px"
            canvas.drawText("Lesion #\(lesion.rank): diameter along the vessel (\(unit))",
                            x: margin, y: y, scale: textScale, color: .panelText)
            drawProfilePlot(lesion: lesion, vessel: vessel, mmPerPixel: scene.mmPerPixel, rect: plot, on: &canvas)
            y = plot.y + plot.height + 2 * lineHeight + margin
        }
        let maxCharacters = max(8, (layout.canvasWidth - 2 * margin) / charWidth)
        if scene.lesions.isEmpty {
            canvas.drawText("No lesion measured", x: margin, y: y, scale: textScale, color: .mutedText)
            return
        }
        for lesion in scene.lesions.sorted(by: { $0.rank < $1.rank }) {
            // Unit once at the end keeps the line within ~40 characters (a 512 px panel at 2x).
            let calibrated = (scene.mmPerPixel ?? 0) > 0
            let factor = calibrated ? scene.mmPerPixel! : 1
            func value(_ pixels: Double?, _ decimals: Int) -> String {
                guard let pixels, pixels.isFinite else { return "n/a" }
                return String(format: "%.\(decimals)f", pixels * factor)
            }
            var line = "#\(lesion.rank) DS " + Self.formatPercent(lesion.percentDiameterStenosis)
                + "  MLD " + value(lesion.minimalLumenDiameterPx, calibrated ? 2 : 1)
                + "  Ref " + value(lesion.referenceDiameterPx, calibrated ? 2 : 1)
            if lesion.lengthPx != nil { line += "  L " + value(lesion.lengthPx, 1) }
            line += calibrated ? " mm" : " px"
            canvas.drawText(Self.truncateMiddle(line, maxCharacters: maxCharacters), x: margin, y: y, scale: textScale,
                            color: lesion.rank == 1 ? .white : .panelText)
            y += lineHeight
        }
    }

    /// Diameter against arc length for the top lesion's vessel: measured diameter (solid),
    /// reference diameter (dashed), lesion extent shaded, MLD marked.
    private func drawProfilePlot(lesion: LesionOverlay, vessel: VesselOverlay, mmPerPixel: Double?,
                                 rect: (x: Int, y: Int, width: Int, height: Int), on canvas: inout RGBCanvas) {
        let scale = (mmPerPixel ?? 0) > 0 ? mmPerPixel! : 1
        let arc = vessel.arcLength.map { $0 * scale }
        let diameter = vessel.diameter.map { $0 * scale }
        let reference = vessel.reference.count == arc.count ? vessel.reference.map { $0 * scale } : []
        let finiteArc = arc.filter(\.isFinite)
        guard let arcMin = finiteArc.min(), let arcMax = finiteArc.max(), arcMax > arcMin else { return }
        let values = (diameter + reference).filter(\.isFinite)
        let yMax = NiceScale.ceiling((values.max() ?? 1) * 1.1)
        canvas.fillRect(x: rect.x, y: rect.y, width: rect.width, height: rect.height, color: .black, alpha: 0.35)

        func point(_ s: Double, _ d: Double) -> Point2D {
            Point2D(x: Double(rect.x) + (s - arcMin) / (arcMax - arcMin) * Double(rect.width - 1),
                    y: Double(rect.y + rect.height - 1) - d / yMax * Double(rect.height - 1))
        }
        // Lesion extent band.
        if arc.indices.contains(lesion.startIndex), arc.indices.contains(lesion.endIndex) {
            let a = point(arc[min(lesion.startIndex, lesion.endIndex)], 0).x
            let b = point(arc[max(lesion.startIndex, lesion.endIndex)], 0).x
            canvas.fillRect(x: Int(a.rounded()), y: rect.y, width: max(1, Int((b - a).rounded())), height: rect.height,
                            color: .lesionExtent, alpha: 0.22)
        }
        // Grid and tick labels.
        let yStep = NiceScale.step(for: yMax, targetTicks: 4)
        var tick = 0.0
        while tick <= yMax + 1e-9 {
            let p = point(arcMin, tick)
            canvas.drawLine(from: Point2D(x: Double(rect.x), y: p.y), to: Point2D(x: Double(rect.x + rect.width - 1), y: p.y),
                            color: .mutedText, width: 1, alpha: 0.25)
            let label = NiceScale.format(tick, step: yStep)
            canvas.drawText(label, x: rect.x - BitmapFont.width(of: label, scale: textScale) - 2 * textScale,
                            y: Int(p.y) - BitmapFont.glyphHeight * textScale / 2, scale: textScale, color: .mutedText)
            tick += yStep
        }
        let xStep = NiceScale.step(for: arcMax - arcMin, targetTicks: 5)
        var xTick = (arcMin / xStep).rounded(.up) * xStep
        while xTick <= arcMax + 1e-9 {
            let p = point(xTick, 0)
            canvas.drawLine(from: Point2D(x: p.x, y: Double(rect.y)), to: Point2D(x: p.x, y: Double(rect.y + rect.height - 1)),
                            color: .mutedText, width: 1, alpha: 0.2)
            let label = NiceScale.format(xTick, step: xStep)
            let labelWidth = BitmapFont.width(of: label, scale: textScale)
            let labelX = min(max(rect.x - labelWidth / 2, Int(p.x) - labelWidth / 2), canvas.width - labelWidth - 1)
            canvas.drawText(label, x: labelX, y: rect.y + rect.height + textScale * 3, scale: textScale, color: .mutedText)
            xTick += xStep
        }
        canvas.strokeRect(x: rect.x, y: rect.y, width: rect.width, height: rect.height, color: .mutedText, alpha: 0.6)

        func curve(_ values: [Double]) -> [[Point2D]] {
            var runs: [[Point2D]] = [], run: [Point2D] = []
            for (s, d) in zip(arc, values) {
                if s.isFinite && d.isFinite { run.append(point(s, d)) } else if !run.isEmpty { runs.append(run); run = [] }
            }
            if !run.isEmpty { runs.append(run) }
            return runs
        }
        for run in curve(reference) { canvas.strokePolyline(run, color: .reference, width: 2, dash: (6, 4)) }
        for run in curve(diameter) { canvas.strokePolyline(run, color: .vesselEdge, width: 2) }
        if diameter.indices.contains(lesion.mldIndex), diameter[lesion.mldIndex].isFinite {
            let p = point(arc[lesion.mldIndex], diameter[lesion.mldIndex])
            canvas.drawLine(from: Point2D(x: p.x, y: Double(rect.y)), to: Point2D(x: p.x, y: Double(rect.y + rect.height - 1)),
                            color: .lesion, width: 1.5, alpha: 0.8)
            canvas.fillCircle(center: p, radius: 4, color: .lesion)
        }
        // Legend, top-right inside the plot.
        let legend = [("diameter", RGBColor.vesselEdge), ("reference", RGBColor.reference), ("lesion", RGBColor.lesionExtent)]
        var legendX = rect.x + rect.width - 4 * textScale
        for (name, color) in legend.reversed() {
            let w = BitmapFont.width(of: name, scale: textScale)
            legendX -= w
            canvas.drawText(name, x: legendX, y: rect.y + 3 * textScale, scale: textScale, color: color)
            legendX -= 4 * textScale + charWidth
        }
    }
}

/// "Nice" axis steps (1, 2, 2.5, 5 x 10^k) for plot ticks.
enum NiceScale {
    static func step(for range: Double, targetTicks: Int) -> Double {
        guard range.isFinite, range > 0 else { return 1 }
        let raw = range / Double(max(1, targetTicks))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for multiple in [1.0, 2.0, 2.5, 5.0, 10.0] where multiple * magnitude >= raw { return multiple * magnitude }
        return 10 * magnitude
    }

    /// The smallest nice value (1, 2, 2.5, 5 x 10^k) not below `value`.
    static func ceiling(_ value: Double) -> Double {
        guard value.isFinite, value > 0 else { return 1 }
        let magnitude = pow(10, (log10(value)).rounded(.down))
        for multiple in [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] where multiple * magnitude >= value * (1 - 1e-12) {
            return multiple * magnitude
        }
        return 10 * magnitude
    }

    static func format(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : min(4, Int((-log10(step)).rounded(.up)) + (step * pow(10, (-log10(step)).rounded(.up)) == 2.5 ? 1 : 0))
        return String(format: "%.\(decimals)f", abs(value) < 1e-12 ? 0 : value)
    }
}

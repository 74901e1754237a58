import Foundation

/// The exposed (irradiated) field of an X-ray frame, excluding collimator shutters.
///
/// Angiograms are collimated: outside a circular or polygonal field the pixels are uniformly
/// black (or uniform after windowing). The field border is a strong step edge that a Hessian
/// filter reports as a dark "vessel" on its outer side, and it dominates Frangi's automatic c.
/// VesselCore therefore finds the field and excludes the shutters (see `BackgroundFlattening`
/// and `VesselSegmentation`).
///
/// Rule: candidate shutter pixels have a value <= min + 3 % of (median - min) of the frame
/// (PS3.3 C.8.7.3 / C.7.6.11 Display Shutter attributes are not required to be present, so
/// the pixels are used directly); 4-connected candidate regions touching the image border
/// that cover at least 0.5 % of the frame are shutters. The field is the rest, eroded by
/// `margin` px to drop the penumbra of the blades. When no shutter is found the whole frame is
/// the field.
public enum ExposureField {
    public static func detect(_ image: GrayImage, margin: Double = 3) -> BinaryMask {
        let width = image.width, height = image.height
        var field = BinaryMask(width: width, height: height)
        for i in field.bits.indices { field.bits[i] = 1 }
        guard width > 2, height > 2 else { return field }
        var low = Float.infinity
        for v in image.pixels where v.isFinite && v < low { low = v }
        guard low.isFinite else { return field }
        // Median by a deterministic subsample.
        let step = max(1, image.pixels.count / 65_536)
        var sample = [Float]()
        var index = 0
        while index < image.pixels.count {
            if image.pixels[index].isFinite { sample.append(image.pixels[index]) }
            index += step
        }
        sample.sort()
        guard !sample.isEmpty else { return field }
        let median = sample[sample.count / 2]
        guard median > low else { return field }
        let limit = low + 0.03 * (median - low)
        var candidate = BinaryMask(width: width, height: height)
        for i in candidate.bits.indices { let v = image.pixels[i]; candidate.bits[i] = (!v.isFinite || v <= limit) ? 1 : 0 }
        let (labels, sizes) = Morphology.connectedComponents(candidate, eightConnected: false)
        var touches = [Bool](repeating: false, count: sizes.count)
        for x in 0..<width { touches[Int(labels[x])] = true; touches[Int(labels[(height - 1) * width + x])] = true }
        for y in 0..<height { touches[Int(labels[y * width])] = true; touches[Int(labels[y * width + width - 1])] = true }
        let minimumArea = max(1, width * height / 200)
        var found = false
        for i in field.bits.indices {
            let label = Int(labels[i])
            if label != 0 && touches[label] && sizes[label] >= minimumArea { field.bits[i] = 0; found = true }
        }
        guard found else { return field }
        // Holes inside the field (dark objects) are not shutters; erode for the penumbra.
        return Morphology.disc(field, radius: margin, grow: false)
    }
}

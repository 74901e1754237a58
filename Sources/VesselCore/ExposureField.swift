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
/// the pixels are used directly); 4-connected candidate regions that cover at least 0.5 % of
/// the frame, touch the image border and lie along it (border contact at least 0.7
/// sqrt(area)) or are thick (half their pixels 3 px inside them) are shutters. The field is the rest, eroded by
/// `margin` px to drop the penumbra of the blades. When no shutter is found the whole frame is
/// the field.
public enum ExposureField {
    /// Smallest border contact of a shutter region, in units of the square root of its area.
    static let minimumShutterContact = 0.7

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
        // Border pixels of each region (a pixel at a corner counts once per side).
        var contact = [Int](repeating: 0, count: sizes.count)
        for x in 0..<width { contact[Int(labels[x])] += 1; contact[Int(labels[(height - 1) * width + x])] += 1 }
        for y in 0..<height { contact[Int(labels[y * width])] += 1; contact[Int(labels[y * width + width - 1])] += 1 }
        let minimumArea = max(1, width * height / 200)
        // A shutter lies along the border (a blade of depth h over a side S touches it over S:
        // contact / sqrt(area) = sqrt(S / h) >= 1; a corner of a circular field over two legs,
        // about 4) or is thick (noise can break a circular field's corner into pieces that
        // touch the border over a few px only, most of their pixels 3 px inside them). The
        // dark core of a wide, dense vessel crossing a noise-free frame is a large dark region
        // touching the border too, but only where it enters and leaves, and thin (a 6 px band
        // over 360 px: contact 0.23, 13 % of it 3 px inside); it was taken for a shutter and
        // the vessel lost from the field.
        // Pixels of each region that keep their whole 3 px disc inside the candidate mask.
        let core = Morphology.disc(candidate, radius: 3, grow: false)
        var coreSize = [Int](repeating: 0, count: sizes.count)
        for i in core.bits.indices where core.bits[i] != 0 { coreSize[Int(labels[i])] += 1 }
        let shutter = sizes.indices.map { label in
            label != 0 && sizes[label] >= minimumArea && contact[label] > 0
                && (Double(contact[label]) >= minimumShutterContact * Double(sizes[label]).squareRoot()
                    || Double(coreSize[label]) >= 0.5 * Double(sizes[label]))
        }
        var found = false
        for i in field.bits.indices where shutter[Int(labels[i])] { field.bits[i] = 0; found = true }
        guard found else { return field }
        // Holes inside the field (dark objects) are not shutters; erode for the penumbra.
        return Morphology.disc(field, radius: margin, grow: false)
    }
}

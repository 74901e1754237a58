import VesselCore

/// Maps a floating-point frame to 8-bit display grey.
///
/// The window spans robust percentiles of the frame (default 0.5 % to 99.5 %) rather than its
/// min/max, so a few saturated pixels (collimator edges, burned-in text) do not flatten the
/// contrast of the vessels. Non-finite samples map to black.
public enum DisplayWindow {
    public struct Window: Sendable, Equatable {
        public var low: Float
        public var high: Float
    }

    /// The percentile window of `image`; degenerate (flat) images get a unit-wide window.
    /// Large frames are subsampled on a fixed stride (at most ~65 k samples are sorted), which
    /// is deterministic and estimates a display window far better than one grey level.
    public static func percentileWindow(of image: GrayImage, lowFraction: Double = 0.005,
                                        highFraction: Double = 0.995) -> Window {
        let stride = max(1, image.pixels.count / 65_536)
        var samples: [Float] = []
        samples.reserveCapacity(image.pixels.count / stride + 1)
        var index = 0
        while index < image.pixels.count {
            let value = image.pixels[index]
            if value.isFinite { samples.append(value) }
            index += stride
        }
        guard !samples.isEmpty else { return Window(low: 0, high: 1) }
        samples.sort()
        let lastIndex = samples.count - 1
        let low = samples[max(0, min(lastIndex, Int((Double(lastIndex) * lowFraction).rounded())))]
        var high = samples[max(0, min(lastIndex, Int((Double(lastIndex) * highFraction).rounded())))]
        if !(high > low) { high = low + 1 }
        return Window(low: low, high: high)
    }

    /// 8-bit grey samples (row-major, `image.width * image.height`).
    public static func gray8(_ image: GrayImage, window: Window? = nil) -> [UInt8] {
        let w = window ?? percentileWindow(of: image)
        let scale = 255 / (w.high - w.low)
        return image.pixels.map { value in
            guard value.isFinite else { return 0 }
            let mapped = (value - w.low) * scale
            return UInt8(max(0, min(255, mapped.rounded())))
        }
    }

    /// The frame as an RGB canvas, each source pixel an `upscale` x `upscale` block.
    public static func canvas(_ image: GrayImage, upscale: Int = 1, window: Window? = nil) -> RGBCanvas {
        let factor = max(1, upscale)
        let grey = gray8(image, window: window)
        var canvas = RGBCanvas(width: image.width * factor, height: image.height * factor)
        canvas.pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<canvas.height {
                let sourceRow = (y / factor) * image.width
                for x in 0..<canvas.width {
                    let value = grey[sourceRow + x / factor]
                    let offset = 3 * (y * canvas.width + x)
                    out[offset] = value; out[offset + 1] = value; out[offset + 2] = value
                }
            }
        }
        return canvas
    }
}

extension RGBCanvas {
    /// A box-filtered (area-average) reduction so the longer side is at most `maxSide` pixels.
    /// Returns the canvas unchanged when it is already small enough.
    public func thumbnail(maxSide: Int) -> RGBCanvas {
        let longest = max(width, height)
        guard maxSide > 0, longest > maxSide else { return self }
        let outWidth = max(1, (width * maxSide + longest - 1) / longest)
        let outHeight = max(1, (height * maxSide + longest - 1) / longest)
        var out = RGBCanvas(width: outWidth, height: outHeight)
        for oy in 0..<outHeight {
            let y0 = oy * height / outHeight, y1 = max(y0 + 1, (oy + 1) * height / outHeight)
            for ox in 0..<outWidth {
                let x0 = ox * width / outWidth, x1 = max(x0 + 1, (ox + 1) * width / outWidth)
                var sums = (0, 0, 0)
                for y in y0..<y1 {
                    for x in x0..<x1 {
                        let offset = 3 * (y * width + x)
                        sums.0 += Int(pixels[offset]); sums.1 += Int(pixels[offset + 1]); sums.2 += Int(pixels[offset + 2])
                    }
                }
                let count = (y1 - y0) * (x1 - x0)
                out[ox, oy] = RGBColor(UInt8((sums.0 + count / 2) / count), UInt8((sums.1 + count / 2) / count),
                                       UInt8((sums.2 + count / 2) / count))
            }
        }
        return out
    }
}

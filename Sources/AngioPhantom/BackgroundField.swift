import Foundation

/// Smooth anatomical background attenuation, a pure function of (x, y) drawn once from the
/// seed's background stream (so it does not change with vessel or lesion parameters).
struct BackgroundField: Sendable {
    struct Blob: Sendable {
        var x, y, sigma, amplitude, elongation, angle: Double
        // Precomputed: cos/sin of the angle and 1 / (2 sigma^2).
        var cosAngle: Double { cos(angle) }
        var sinAngle: Double { sin(angle) }
    }
    /// (cos, sin, 1 / (2 sigma^2)) per blob, precomputed for the per-pixel loop.
    private let blobTerms: [(c: Double, s: Double, inverseTwoSigmaSquared: Double)]
    struct Wave: Sendable { var kx, ky, phase, amplitude: Double }

    let base: Double
    let gradientX: Double, gradientY: Double
    let centreX: Double, centreY: Double
    let blobs: [Blob]
    let waves: [Wave]
    /// A long bone: a cylinder along x = x0 + slope * (y - centreY) with a less dense marrow core.
    struct Bone: Sendable { var x, slope, radius, attenuationPerPx, marrowFraction: Double }
    let bones: [Bone]
    /// Collimator field: rounded octagon centred on the image (half-size, corner cut), or nil.
    let collimator: (halfWidth: Double, halfHeight: Double, cornerCut: Double)?
    /// Diaphragm: a dome-shaped edge y = top + curvature * (x - apexX)^2, smooth over `edgeWidth`.
    let diaphragm: (apexX: Double, top: Double, curvature: Double, edgeWidth: Double, attenuation: Double)?

    init(spec: PhantomSpec) {
        let b = spec.background
        var rng = PhantomRNG(seed: spec.seed, stream: PhantomStream.background)
        let w = Double(spec.width), h = Double(spec.height)
        let diagonal = hypot(w, h)
        base = b.baseAttenuation
        let angle = rng.uniform(0...(2 * Double.pi))
        gradientX = b.gradientAttenuation * cos(angle) / diagonal
        gradientY = b.gradientAttenuation * sin(angle) / diagonal
        centreX = (w - 1) / 2; centreY = (h - 1) / 2
        var blobs: [Blob] = []
        let size = max(w, h)
        for index in 0..<max(0, b.blobCount) {
            // The first blobs are big and add attenuation (soft tissue, spine, heart shadow);
            // later ones may subtract (lung).
            let sign: Double = index < 3 || rng.chance(0.6) ? 1 : -1
            blobs.append(Blob(
                x: rng.uniform(-0.1 * w...1.1 * w), y: rng.uniform(-0.1 * h...1.1 * h),
                sigma: rng.uniform(0.10 * size...0.30 * size),
                amplitude: sign * b.blobAttenuation * rng.uniform(0.3...1.0),
                elongation: rng.uniform(1.0...2.2), angle: rng.uniform(0...Double.pi)))
        }
        self.blobs = blobs
        blobTerms = blobs.map { ($0.cosAngle, $0.sinAngle, 1 / (2 * $0.sigma * $0.sigma)) }
        var waves: [Wave] = []
        if b.textureAttenuation > 0 {
            for _ in 0..<12 {
                let period = rng.uniform(30...120), direction = rng.uniform(0...Double.pi)
                let k = 2 * Double.pi / period
                waves.append(Wave(kx: k * cos(direction), ky: k * sin(direction),
                                  phase: rng.uniform(0...(2 * Double.pi)),
                                  amplitude: b.textureAttenuation * rng.uniform(0.3...1.0) / 3))
            }
        }
        self.waves = waves
        var bones: [Bone] = []
        for index in 0..<min(max(0, b.boneCount), 4) {
            // Tibia (wide) left or right of the centre, fibula (narrow) on the other side.
            let side: Double = index % 2 == 0 ? -1 : 1
            let radius = (index == 0 ? rng.uniform(0.16...0.22) : rng.uniform(0.06...0.09)) * w
            let x = (w - 1) / 2 + side * rng.uniform(0.22...0.34) * w
            bones.append(Bone(x: x, slope: rng.uniform(-0.08...0.08), radius: radius,
                              attenuationPerPx: b.boneAttenuationPerPx, marrowFraction: rng.uniform(0.5...0.7)))
        }
        self.bones = bones
        // Drawn after every other background choice so enabling it changes nothing else.
        collimator = b.collimator
            ? (halfWidth: w * rng.uniform(0.46...0.49), halfHeight: h * rng.uniform(0.46...0.49),
               cornerCut: min(w, h) * rng.uniform(0.12...0.2))
            : nil
        let apex = rng.uniform(0.2 * w...0.8 * w), top = rng.uniform(0.72 * h...0.9 * h)
        let curvature = rng.uniform(0.6...1.4) / w
        if b.diaphragm && b.diaphragmAttenuation != 0 {
            diaphragm = (apex, top, curvature, rng.uniform(4...10), b.diaphragmAttenuation)
        } else {
            diaphragm = nil
        }
    }

    /// Attenuation (mu * thickness, dimensionless) at pixel (x, y).
    func attenuation(x: Double, y: Double) -> Double {
        var a = base + gradientX * (x - centreX) + gradientY * (y - centreY)
        for (index, blob) in blobs.enumerated() {
            let dx = x - blob.x, dy = y - blob.y
            let terms = blobTerms[index]
            let along = (dx * terms.c + dy * terms.s) / blob.elongation, across = -dx * terms.s + dy * terms.c
            a += blob.amplitude * exp(-(along * along + across * across) * terms.inverseTwoSigmaSquared)
        }
        for wave in waves { a += wave.amplitude * sin(wave.kx * x + wave.ky * y + wave.phase) }
        for bone in bones {
            let d = (x - (bone.x + bone.slope * (y - centreY))) / (1 + bone.slope * bone.slope).squareRoot()
            let outer = bone.radius * bone.radius - d * d
            if outer > 0 {
                let marrow = bone.radius * bone.marrowFraction
                let inner = marrow * marrow - d * d
                // Cortical shell: full density; marrow: 40 % of it.
                let cortexChord = 2 * outer.squareRoot() - (inner > 0 ? 2 * inner.squareRoot() : 0)
                let marrowChord = inner > 0 ? 2 * inner.squareRoot() : 0
                a += bone.attenuationPerPx * (cortexChord + 0.4 * marrowChord)
            }
        }
        if let d = diaphragm {
            let edge = d.top + d.curvature * (x - d.apexX) * (x - d.apexX)
            a += d.attenuation / (1 + exp(-(y - edge) / d.edgeWidth))
        }
        if let field = collimator {
            // Signed distance (px, > 0 outside) to a square field with its corners cut at 45 deg.
            let dx = abs(x - centreX), dy = abs(y - centreY)
            let box = max(dx - field.halfWidth, dy - field.halfHeight)
            let corner = (dx + dy - (field.halfWidth + field.halfHeight - field.cornerCut)) / 2.0.squareRoot()
            let outside = max(box, corner)
            a += 4 / (1 + exp(-outside / 1.5))
        }
        return max(0, a)
    }
}

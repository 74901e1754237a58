import Foundation

/// The projection model of a circular, contrast-filled lumen seen on a perpendicular profile.
///
/// Along the profile coordinate `d` (px, signed distance from the centerline) the detected
/// intensity of an X-ray image is
///
///     I(d) = (b0 + b1 d) * (1 - S(d)),
///     S(d) = [ (1 - exp(-A * chord(d - c))) ⊗ G_sigma ](d),
///     chord(u) = 2 sqrt(r^2 - u^2) for |u| < r, 0 outside,
///
/// i.e. Beer–Lambert attenuation through a cylinder of radius `r` centred at `c` with
/// attenuation `A` per pixel of path (iodine concentration × mass attenuation × pixel size),
/// blurred in the transmission domain by a Gaussian point-spread function of width `sigma`
/// (focal spot + detector + pixel integration), over a locally linear background `b0 + b1 d`.
/// With `attenuationLaw == .linear` the unblurred dip is A * chord instead (intensity already
/// log-encoded); with `shapeExponent == 0` the chord is replaced by a constant path length.
/// This is the physical model behind model-based QCA (cf. Fleagle et al. / Sonka et al.
/// simulation studies; Reiber's CAAS edge detector is the edge-based counterpart). Fitting it
/// by least squares gives an unbiased diameter down to ~3 px lumens, where the classic
/// gradient edge is biased by blur.
///
/// The convolution is evaluated exactly for a piecewise-constant approximation of the lumen
/// term: the lumen [-r, r] is cut at `u_m = r sin(theta_m)` with equally spaced angles, which
/// concentrates the cuts at the walls where the chord changes fastest; each step of the
/// staircase convolved with the Gaussian is a shifted normal CDF. The chord is rescaled so the
/// staircase has exactly the area pi r^2 of the disc.
public struct LumenModel: Sendable, Equatable {
    public var background: Double       // b0
    public var backgroundSlope: Double  // b1 (per px)
    public var attenuation: Double      // A (per px of chord)
    public var center: Double           // c (px)
    public var radius: Double           // r (px)
    public var sigma: Double            // PSF sigma (px)
    /// Shape of the projected lumen: the path length through it at u = r sin(theta) is
    /// 2 (r cos(theta))^q px. q = 1 is the circular cylinder above (the physics of a
    /// contrast-filled vessel); q = 0 a lumen of uniform depth whatever its width, as drawn by
    /// phantom generators that paint a tube of constant contrast (a "flat" image, see
    /// `VesselAnalyzer.preferredLumenForm`). Fixed in every fit, never fitted.
    public var shapeExponent: Double = 1
    /// How the intensity dip grows with the path length L through the lumen.
    public var attenuationLaw: AttenuationLaw = .exponential

    /// The dip of the unblurred lumen term at path length L (px) and attenuation A.
    public enum AttenuationLaw: String, Sendable, Equatable {
        /// 1 - exp(-A L): Beer–Lambert on detector-linear intensity (the physics of the image
        /// before any display transfer).
        case exponential
        /// A L: intensity already log-encoded (the value falls in proportion to the iodine in
        /// the path, as after the logarithmic look-up of many X-ray chains), or a phantom drawn
        /// as "background minus k times thickness". Chosen per image by
        /// `VesselAnalyzer.preferredLumenForm`.
        case linear
    }

    public init(background: Double, backgroundSlope: Double, attenuation: Double, center: Double,
                radius: Double, sigma: Double, shapeExponent: Double = 1, attenuationLaw: AttenuationLaw = .exponential) {
        self.background = background
        self.backgroundSlope = backgroundSlope
        self.attenuation = attenuation
        self.center = center
        self.radius = radius
        self.sigma = sigma
        self.shapeExponent = shapeExponent
        self.attenuationLaw = attenuationLaw
    }

    /// The same lumen form (shape exponent and attenuation law) as `other`.
    mutating func adoptForm(of other: LumenModel) {
        shapeExponent = other.shapeExponent
        attenuationLaw = other.attenuationLaw
    }

    /// Unblurred dip at path length `length` (px) and its derivative with respect to the path
    /// length (per px) and to the attenuation.
    @inline(__always)
    static func dip(law: AttenuationLaw, attenuation a: Double, length: Double) -> (f: Double, dLength: Double, dA: Double) {
        switch law {
        case .exponential:
            let transmission = exp(-a * length)
            return (1 - transmission, a * transmission, length * transmission)
        case .linear:
            return (a * length, a, length)
        }
    }

    /// Path length through the lumen's centre (px): 2r for the cylinder, 2 for uniform depth.
    public var centralPathLength: Double {
        shapeExponent == 1 ? 2 * radius : 2 * pow(max(radius, 0), shapeExponent)
    }

    /// Relative intensity dip at the lumen's centre before blur: 1 - exp(-A * path length), or
    /// A * path length with the linear law.
    public var centralDip: Double { Self.dip(law: attenuationLaw, attenuation: attenuation, length: centralPathLength).f }

    /// Attenuation giving the central dip `dip` with this model's form and radius.
    func attenuation(forCentralDip dip: Double) -> Double {
        let length = max(centralPathLength, 1e-6)
        switch attenuationLaw {
        case .exponential: return -log(max(1 - dip, 1e-6)) / length
        case .linear: return dip / length
        }
    }

    var vector: [Double] { [background, backgroundSlope, attenuation, center, radius, sigma] }
    init(vector v: [Double]) {
        self.init(background: v[0], backgroundSlope: v[1], attenuation: v[2], center: v[3], radius: v[4], sigma: v[5])
    }

    /// Number of angular cuts of the lumen.
    static let cuts = 32

    /// Model intensity at `d`.
    public func value(at d: Double) -> Double {
        var scratch = LumenModelScratch()
        scratch.prepare(self)
        let s = scratch.lumenTerm(at: d, sigma: sigma)
        return (background + backgroundSlope * d) * (1 - s)
    }
}

/// Parameter indices for `LumenModel` vectors.
enum LumenParameter: Int, CaseIterable {
    case background = 0, backgroundSlope, attenuation, center, radius, sigma
}

/// Cut positions and step heights of the staircase lumen term for one parameter set.
struct LumenModelScratch {
    var edges = [Double](repeating: 0, count: LumenModel.cuts + 1)      // u_m + c
    var sinTheta = [Double](repeating: 0, count: LumenModel.cuts + 1)
    var jump = [Double](repeating: 0, count: LumenModel.cuts + 1)       // step heights
    var jumpDA = [Double](repeating: 0, count: LumenModel.cuts + 1)     // d jump / dA
    var jumpDR = [Double](repeating: 0, count: LumenModel.cuts + 1)     // d jump / dr
    /// Running sums of the jumps over edges 0..<m, accumulated in edge order (so a prefix is
    /// exactly the sum the edge loop would build from edges whose CDF is 1).
    var prefixS = [Double](repeating: 0, count: LumenModel.cuts + 2)
    var prefixDA = [Double](repeating: 0, count: LumenModel.cuts + 2)
    var prefixDR = [Double](repeating: 0, count: LumenModel.cuts + 2)

    /// Edges farther than this many sigma from d contribute their whole jump (CDF 1) or
    /// nothing (CDF 0): the neglected tail is Phi(-6) = 1e-9 of a jump.
    static let activeLimit = 6.0

    struct Pointers {
        var edges, jump, jumpDA, jumpDR, sinTheta, prefixS, prefixDA, prefixDR: UnsafePointer<Double>
    }

    static let cosMid: [Double] = (0..<LumenModel.cuts).map { m in
        cos(-Double.pi / 2 + (Double(m) + 0.5) * Double.pi / Double(LumenModel.cuts))
    }
    /// The angular midpoint rule integrates the chord to 2K r^2 sin(pi/2K) instead of pi r^2;
    /// scaling the chord by this factor removes that (4e-4 at K = 32) bias.
    static let chordScale: Double = {
        let half = Double.pi / Double(2 * LumenModel.cuts)
        return half / sin(half)
    }()
    static let sinEdge: [Double] = (0...LumenModel.cuts).map { m in
        sin(-Double.pi / 2 + Double(m) * Double.pi / Double(LumenModel.cuts))
    }

    mutating func prepare(_ model: LumenModel) {
        let k = LumenModel.cuts
        let r = max(model.radius, 1e-6), a = model.attenuation
        let q = model.shapeExponent, law = model.attenuationLaw
        var previous = 0.0, previousDA = 0.0, previousDR = 0.0
        for m in 0...k {
            sinTheta[m] = Self.sinEdge[m]
            edges[m] = model.center + r * Self.sinEdge[m]
            var f = 0.0, fA = 0.0, fR = 0.0
            if m < k && q != 1 {
                // Path length 2 (r cos)^q; its radius derivative is q * length / r.
                let length = 2 * pow(r * Self.cosMid[m], q)
                let dip = LumenModel.dip(law: law, attenuation: a, length: length)
                f = dip.f
                fA = dip.dA
                fR = dip.dLength * q * length / r
            } else if m < k {
                let cosine = Self.cosMid[m] * Self.chordScale
                let chord = 2 * r * cosine
                let dip = LumenModel.dip(law: law, attenuation: a, length: chord)
                f = dip.f
                fA = dip.dA
                fR = dip.dLength * 2 * cosine
            }
            jump[m] = f - previous
            jumpDA[m] = fA - previousDA
            jumpDR[m] = fR - previousDR
            previous = f; previousDA = fA; previousDR = fR
        }
        var sumS = 0.0, sumA = 0.0, sumR = 0.0
        prefixS[0] = 0; prefixDA[0] = 0; prefixDR[0] = 0
        for m in 0...k {
            sumS += jump[m]; sumA += jumpDA[m]; sumR += jumpDR[m]
            prefixS[m + 1] = sumS; prefixDA[m + 1] = sumA; prefixDR[m + 1] = sumR
        }
    }

    /// S(d) only.
    ///
    /// The edges are sorted (ascending in m), so z decreases with m: the leading edges with
    /// z >= activeLimit contribute their whole jump (a prefix sum, found by bisection) and the
    /// loop stops at the first z <= -activeLimit.
    @inline(__always)
    func lumenTerm(at d: Double, sigma: Double) -> Double {
        withPointers { Self.lumenTerm(at: d, inverseSigma: 1 / sigma, $0, table: NormalTable.table) }
    }

    /// First edge whose z = (d - edge) / sigma is below the active limit (0...cuts + 1).
    @inline(__always)
    static func firstActiveEdge(_ d: Double, inverseSigma: Double, edges: UnsafePointer<Double>) -> Int {
        let limit = activeLimit
        var low = 0, high = LumenModel.cuts + 1
        while low < high {
            let middle = (low + high) >> 1
            if (d - edges[middle]) * inverseSigma >= limit { low = middle + 1 } else { high = middle }
        }
        return low
    }

    @inline(__always)
    static func lumenTerm(at d: Double, inverseSigma: Double, _ q: Pointers, table: UnsafePointer<Double>) -> Double {
        let limit = NormalTable.limit, steps = NormalTable.stepsPerUnit
        var m = firstActiveEdge(d, inverseSigma: inverseSigma, edges: q.edges)
        var s = q.prefixS[m]
        let last = LumenModel.cuts
        while m <= last {
            let z = (d - q.edges[m]) * inverseSigma
            if z <= -activeLimit { break }
            let position = (z + limit) * steps
            let index = Int(position)
            let t = position - Double(index)
            let c0 = table[2 * index], c1 = table[2 * index + 2]
            s += q.jump[m] * (c0 + t * (c1 - c0))
            m += 1
        }
        return s
    }

    /// S(d) and its partial derivatives with respect to A, c, r, sigma.
    @inline(__always)
    func lumenTermWithDerivatives(at d: Double, sigma: Double) -> (s: Double, dA: Double, dC: Double, dR: Double, dSigma: Double) {
        withPointers { Self.lumenTermWithDerivatives(at: d, inverseSigma: 1 / sigma, $0, table: NormalTable.table) }
    }

    @inline(__always)
    func withPointers<R>(_ body: (Pointers) -> R) -> R {
        edges.withUnsafeBufferPointer { e in
            jump.withUnsafeBufferPointer { j in
                jumpDA.withUnsafeBufferPointer { ja in
                    jumpDR.withUnsafeBufferPointer { jr in
                        sinTheta.withUnsafeBufferPointer { st in
                            prefixS.withUnsafeBufferPointer { ps in
                                prefixDA.withUnsafeBufferPointer { pa in
                                    prefixDR.withUnsafeBufferPointer { pr in
                                        body(Pointers(edges: e.baseAddress!, jump: j.baseAddress!, jumpDA: ja.baseAddress!,
                                                      jumpDR: jr.baseAddress!, sinTheta: st.baseAddress!,
                                                      prefixS: ps.baseAddress!, prefixDA: pa.baseAddress!,
                                                      prefixDR: pr.baseAddress!))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func lumenTermWithDerivatives(at d: Double, inverseSigma: Double, _ q: Pointers, table: UnsafePointer<Double>)
        -> (s: Double, dA: Double, dC: Double, dR: Double, dSigma: Double) {
        let limit = NormalTable.limit, steps = NormalTable.stepsPerUnit
        var m = firstActiveEdge(d, inverseSigma: inverseSigma, edges: q.edges)
        // Edges before m: CDF 1, PDF 0, the terms reduce to the jumps.
        var s = q.prefixS[m], dA = q.prefixDA[m], dR = q.prefixDR[m]
        var dC = 0.0, dSigma = 0.0
        let last = LumenModel.cuts
        while m <= last {
            let z = (d - q.edges[m]) * inverseSigma
            if z <= -activeLimit { break }
            let position = (z + limit) * steps
            let index = Int(position)
            let t = position - Double(index)
            let c0 = table[2 * index], p0 = table[2 * index + 1]
            let c1 = table[2 * index + 2], p1 = table[2 * index + 3]
            let cdf = c0 + t * (c1 - c0)
            let pdf = p0 + t * (p1 - p0)
            let j = q.jump[m]
            s += j * cdf
            dA += q.jumpDA[m] * cdf
            let jp = j * pdf * inverseSigma
            dC -= jp
            dR += q.jumpDR[m] * cdf - jp * q.sinTheta[m]
            dSigma -= jp * z
            m += 1
        }
        return (s, dA, dC, dR, dSigma)
    }
}

/// Tabulated standard normal CDF and PDF (linear interpolation, |error| < 2e-6).
enum NormalTable {
    static let limit = 8.0
    static let stepsPerUnit = 128.0
    static let cdfValues: [Double] = {
        let n = Int(2 * limit * stepsPerUnit) + 2
        return (0..<n).map { i in
            let z = -limit + Double(i) / stepsPerUnit
            return 0.5 * erfc(-z / 2.0.squareRoot())
        }
    }()
    static let pdfValues: [Double] = {
        let n = Int(2 * limit * stepsPerUnit) + 2
        return (0..<n).map { i in
            let z = -limit + Double(i) / stepsPerUnit
            return exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
        }
    }()

    /// cdf and pdf interleaved (cdf_i, pdf_i, cdf_i+1, ...) in one immortal buffer, for the
    /// inner loops of the lumen term (no bounds checks, one lazy-global access per call).
    nonisolated(unsafe) static let table: UnsafePointer<Double> = {
        let n = cdfValues.count
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: 2 * n)
        for i in 0..<n {
            buffer[2 * i] = cdfValues[i]
            buffer[2 * i + 1] = pdfValues[i]
        }
        return UnsafePointer(buffer)
    }()

    @inline(__always)
    static func cdf(_ z: Double) -> Double {
        if z <= -limit { return 0 }
        if z >= limit { return 1 }
        let position = (z + limit) * stepsPerUnit
        let index = Int(position)
        let t = position - Double(index)
        return cdfValues[index] + t * (cdfValues[index + 1] - cdfValues[index])
    }

    @inline(__always)
    static func cdfAndPdf(_ z: Double) -> (Double, Double) {
        if z <= -limit { return (0, 0) }
        if z >= limit { return (1, 0) }
        let position = (z + limit) * stepsPerUnit
        let index = Int(position)
        let t = position - Double(index)
        return (cdfValues[index] + t * (cdfValues[index + 1] - cdfValues[index]),
                pdfValues[index] + t * (pdfValues[index + 1] - pdfValues[index]))
    }
}

/// A set of profile samples: signed distance across the vessel and intensity.
public struct ProfileSamples: Sendable {
    public var distance: [Double]
    public var value: [Double]
    public init(distance: [Double] = [], value: [Double] = []) {
        self.distance = distance
        self.value = value
    }
    public var count: Int { distance.count }
}

/// Result of a least-squares fit of `LumenModel` to profile samples.
public struct LumenFit: Sendable {
    public var model: LumenModel
    /// Robust residual scale (1.4826 MAD), intensity units.
    public var residualScale: Double
    /// Standard uncertainty of the radius (px) from the Gauss–Newton covariance.
    public var radiusUncertainty: Double
    /// Standard uncertainty of the lumen centre (px), same covariance; infinite when the
    /// centre was not fitted.
    public var centerUncertainty: Double = .infinity
    /// Unweighted sum of squared residuals at the solution (intensity units²): with the robust
    /// scale, compares nested fits of the same samples (likelihood-ratio test).
    public var sumOfSquares: Double = .nan
    /// Amplitude of the background edge term (`LumenFitter.fit(edgeShape:)`); 0 without one.
    public var edgeAmplitude: Double = 0
    /// Root mean square over the samples of the model's derivative with respect to the radius
    /// (intensity units per px) at the solution; 0 when the radius was fixed. A radius that
    /// changes along the strip by ±δ leaves residuals of about this times δ.
    public var radiusSensitivity: Double = 0
    public var converged: Bool
    public var iterations: Int
}

/// Levenberg–Marquardt fit of `LumenModel` with Tukey-biweight reweighting (robust to a
/// neighbouring vessel or a branch entering the profile window).
public enum LumenFitter {
    public struct Free: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let attenuation = Free(rawValue: 1)
        public static let center = Free(rawValue: 2)
        public static let radius = Free(rawValue: 4)
        public static let sigma = Free(rawValue: 8)
        public static let all: Free = [.attenuation, .center, .radius, .sigma]
    }

    /// Fits the model. The background level is always free, its slope unless
    /// `fixedBackgroundSlope` (then it stays at the initial model's).
    /// - Parameters:
    ///   - maxRadius: radius upper bound (px); the fit is reported unconverged beyond it.
    ///   - robustRounds: Tukey reweighting rounds after the first least-squares fit.
    ///   - edgeShape: per sample, the shape ψ of a background edge term: the model is then
    ///     multiplied by exp(-k ψ), k >= 0 fitted (`HiddenEdgeFinder`: a bone edge hidden under
    ///     the vessel, ψ its blurred square-root chord profile at a fixed position).
    public static func fit(_ samples: ProfileSamples, initial: LumenModel, free: Free,
                           maxRadius: Double, centerLimit: Double = .infinity, robustRounds: Int = 2,
                           maxIterations: Int = 40, edgeShape: [Double]? = nil, initialEdgeAmplitude: Double = 0,
                           fixedBackgroundSlope: Bool = false) -> LumenFit? {
        let n = samples.count
        if let shape = edgeShape, shape.count != n { return nil }
        var freeIndices: [Int] = [LumenParameter.background.rawValue]
        if !fixedBackgroundSlope { freeIndices.append(LumenParameter.backgroundSlope.rawValue) }
        if free.contains(.attenuation) { freeIndices.append(LumenParameter.attenuation.rawValue) }
        if free.contains(.center) { freeIndices.append(LumenParameter.center.rawValue) }
        if free.contains(.radius) { freeIndices.append(LumenParameter.radius.rawValue) }
        if free.contains(.sigma) { freeIndices.append(LumenParameter.sigma.rawValue) }
        /// Index of the edge amplitude in the parameter vector (after the six of `LumenModel`).
        let edgeIndex = 6
        if edgeShape != nil { freeIndices.append(edgeIndex) }
        let p = freeIndices.count
        guard n > p + 2 else { return nil }
        let shape = edgeShape ?? []
        let hasEdge = edgeShape != nil

        var weights = [Double](repeating: 1, count: n)
        var parameters = initial.vector + [hasEdge ? max(initialEdgeAmplitude, 0) : 0]
        var scratch = LumenModelScratch()
        // Residuals and Jacobian always belong to `parameters`; a trial step is evaluated (with
        // its Jacobian) into the trial buffers, which are swapped in when the step is accepted.
        // This is the same arithmetic as re-evaluating at the accepted parameters.
        var jacobian = [Double](repeating: 0, count: n * p)
        var residuals = [Double](repeating: 0, count: n)
        var trialJacobian = [Double](repeating: 0, count: n * p)
        var trialResiduals = [Double](repeating: 0, count: n)
        var totalIterations = 0
        var converged = false
        var scale = 0.0
        // Column of each parameter in the Jacobian (-1: fixed).
        var columnOf = [Int](repeating: -1, count: 7)
        for (column, index) in freeIndices.enumerated() { columnOf[index] = column }
        let cB1 = columnOf[1], cA = columnOf[2], cC = columnOf[3], cR = columnOf[4], cS = columnOf[5], cE = columnOf[6]

        func evaluate(_ vector: [Double], withJacobian: Bool, residuals: inout [Double], jacobian: inout [Double]) -> Double {
            var model = LumenModel(vector: vector)
            model.adoptForm(of: initial)
            let amplitude = vector[edgeIndex]
            scratch.prepare(model)
            let inverseSigma = 1 / model.sigma
            let table = NormalTable.table
            let b0 = model.background, b1 = model.backgroundSlope
            return samples.distance.withUnsafeBufferPointer { distance in
                samples.value.withUnsafeBufferPointer { value in
                    weights.withUnsafeBufferPointer { weight in
                        residuals.withUnsafeMutableBufferPointer { residual in
                            scratch.withPointers { q in
                                var cost = 0.0
                                if withJacobian {
                                    jacobian.withUnsafeMutableBufferPointer { jac in
                                        for i in 0..<n {
                                            let d = distance[i]
                                            let edge = hasEdge ? exp(-amplitude * shape[i]) : 1
                                            let base = (b0 + b1 * d) * edge
                                            let t = LumenModelScratch.lumenTermWithDerivatives(
                                                at: d, inverseSigma: inverseSigma, q, table: table)
                                            let predicted = base * (1 - t.s)
                                            residual[i] = value[i] - predicted
                                            let row = i * p
                                            jac[row] = (1 - t.s) * edge
                                            if cB1 >= 0 { jac[row + cB1] = d * (1 - t.s) * edge }
                                            if cA >= 0 { jac[row + cA] = -base * t.dA }
                                            if cC >= 0 { jac[row + cC] = -base * t.dC }
                                            if cR >= 0 { jac[row + cR] = -base * t.dR }
                                            if cS >= 0 { jac[row + cS] = -base * t.dSigma }
                                            if cE >= 0 { jac[row + cE] = -predicted * shape[i] }
                                            cost += weight[i] * residual[i] * residual[i]
                                        }
                                    }
                                } else {
                                    for i in 0..<n {
                                        let d = distance[i]
                                        let base = (b0 + b1 * d) * (hasEdge ? exp(-amplitude * shape[i]) : 1)
                                        let s = LumenModelScratch.lumenTerm(at: d, inverseSigma: inverseSigma, q, table: table)
                                        residual[i] = value[i] - base * (1 - s)
                                        cost += weight[i] * residual[i] * residual[i]
                                    }
                                }
                                return cost
                            }
                        }
                    }
                }
            }
        }
        func weightedCost() -> Double {
            var cost = 0.0
            for i in 0..<n { cost += weights[i] * residuals[i] * residuals[i] }
            return cost
        }

        let geometricTolerance = 1e-3
        func largestGeometricStep(_ step: [Double]) -> Double {
            var largest = 0.0
            for (column, index) in freeIndices.enumerated() where index >= 3 && index < edgeIndex { largest = max(largest, abs(step[column])) }
            return largest
        }
        func attenuationStepSmall(_ step: [Double]) -> Bool {
            (!free.contains(.attenuation) || abs(step[cA]) < 1e-5) && (cE < 0 || abs(step[cE]) < 1e-5)
        }

        var normal = [Double](repeating: 0, count: p * p)
        var gradient = [Double](repeating: 0, count: p)
        var cost = evaluate(parameters, withJacobian: true, residuals: &residuals, jacobian: &jacobian)
        for round in 0...robustRounds {
            if round > 0 {
                // Tukey biweight with c = 4.685 robust SDs (95 % efficiency under Gaussian noise).
                scale = robustScale(residuals)
                guard scale > 0 else { break }
                let cutoff = 4.685 * scale
                for i in 0..<n {
                    let u = residuals[i] / cutoff
                    weights[i] = abs(u) < 1 ? (1 - u * u) * (1 - u * u) : 0
                }
                cost = weightedCost()
            }
            var lambda = 1e-3
            var lastLargestStep = Double.infinity
            converged = false
            for _ in 0..<maxIterations {
                totalIterations += 1
                // Normal equations J^T W J and J^T W r.
                for k in 0..<(p * p) { normal[k] = 0 }
                for k in 0..<p { gradient[k] = 0 }
                for i in 0..<n where weights[i] > 0 {
                    let w = weights[i]
                    let row = i * p
                    for a in 0..<p {
                        let ja = jacobian[row + a] * w
                        gradient[a] += ja * residuals[i]
                        for b in a..<p { normal[a * p + b] += ja * jacobian[row + b] }
                    }
                }
                for a in 0..<p { for b in 0..<a { normal[a * p + b] = normal[b * p + a] } }
                var improved = false
                var step = [Double](repeating: 0, count: p)
                for _ in 0..<8 {
                    var damped = normal
                    for a in 0..<p { damped[a * p + a] += lambda * max(normal[a * p + a], 1e-12) }
                    guard let solution = solveSymmetric(damped, gradient, size: p) else { lambda *= 10; continue }
                    step = solution
                    var trial = parameters
                    for (column, index) in freeIndices.enumerated() { trial[index] += step[column] }
                    clamp(&trial, maxRadius: maxRadius, centerLimit: centerLimit)
                    let trialCost = evaluate(trial, withJacobian: true, residuals: &trialResiduals, jacobian: &trialJacobian)
                    if trialCost.isFinite && trialCost <= cost {
                        parameters = trial
                        swap(&residuals, &trialResiduals)
                        swap(&jacobian, &trialJacobian)
                        cost = trialCost
                        lambda = max(lambda / 10, 1e-9)
                        improved = true
                        break
                    }
                    // A rejected step already below the tolerance: larger damping only shrinks it
                    // further, and the round would end converged either way.
                    if largestGeometricStep(step) < geometricTolerance && attenuationStepSmall(step) { break }
                    lambda *= 10
                }
                if !improved { converged = true; break }
                // Stop when the geometric parameters move by less than 1e-3 px (1.6e-4 mm at
                // 0.16 mm/px, far below the noise of a single profile).
                let largest = largestGeometricStep(step)
                if largest < geometricTolerance && attenuationStepSmall(step) { converged = true; break }
                lastLargestStep = largest
            }
            // Slow creeping along a flat valley (tiny lumen: centre and radius trade off) still
            // ends near the optimum; accept steps below 0.01 px.
            if !converged && lastLargestStep < 1e-2 { converged = true }
        }

        // Final residual scale and covariance of the radius and centre (residuals and Jacobian
        // are those of `parameters`).
        scale = robustScale(residuals)
        var radiusUncertainty = Double.infinity, centerUncertainty = Double.infinity
        var radiusSensitivity = 0.0
        if cR >= 0 && n > 0 {
            var sum = 0.0
            for i in 0..<n { sum += jacobian[i * p + cR] * jacobian[i * p + cR] }
            radiusSensitivity = (sum / Double(n)).squareRoot()
        }
        if cR >= 0 || cC >= 0 {
            for k in 0..<(p * p) { normal[k] = 0 }
            for i in 0..<n where weights[i] > 0 {
                for a in 0..<p {
                    let ja = jacobian[i * p + a] * weights[i]
                    for b in 0..<p { normal[a * p + b] += ja * jacobian[i * p + b] }
                }
            }
            // Correlated pixels in overlapping strips are ignored: these are per-profile SDs.
            func standardDeviation(column: Int) -> Double {
                guard column >= 0 else { return .infinity }
                var unit = [Double](repeating: 0, count: p)
                unit[column] = 1
                guard let solution = solveSymmetric(normal, unit, size: p), solution[column] > 0 else { return .infinity }
                return scale * solution[column].squareRoot()
            }
            radiusUncertainty = standardDeviation(column: cR)
            centerUncertainty = standardDeviation(column: cC)
        }
        var model = LumenModel(vector: Array(parameters[0..<6]))
        model.adoptForm(of: initial)
        let sane = model.radius.isFinite && model.radius > 0 && model.radius < maxRadius && model.attenuation > 0
        return LumenFit(model: model, residualScale: scale, radiusUncertainty: radiusUncertainty,
                        centerUncertainty: centerUncertainty, sumOfSquares: residuals.reduce(0) { $0 + $1 * $1 },
                        edgeAmplitude: parameters[edgeIndex], radiusSensitivity: radiusSensitivity,
                        converged: converged && sane, iterations: totalIterations)
    }

    static func clamp(_ v: inout [Double], maxRadius: Double, centerLimit: Double) {
        if v.count > 6 { v[6] = min(max(v[6], 0), 2) }
        v[LumenParameter.center.rawValue] = min(max(v[LumenParameter.center.rawValue], -centerLimit), centerLimit)
        v[LumenParameter.attenuation.rawValue] = min(max(v[LumenParameter.attenuation.rawValue], 1e-5), 5)
        v[LumenParameter.radius.rawValue] = min(max(v[LumenParameter.radius.rawValue], 0.05), maxRadius * 1.5)
        v[LumenParameter.sigma.rawValue] = min(max(v[LumenParameter.sigma.rawValue], 0.2), 8)
    }

    /// 1.4826 × median absolute deviation from zero of the residuals.
    static func robustScale(_ residuals: [Double]) -> Double {
        guard !residuals.isEmpty else { return 0 }
        var magnitudes = residuals.map { abs($0) }
        magnitudes.sort()
        let middle = magnitudes.count / 2
        let median = magnitudes.count % 2 == 1 ? magnitudes[middle] : 0.5 * (magnitudes[middle - 1] + magnitudes[middle])
        return 1.4826 * median
    }

    /// Solves A x = b for a small symmetric positive (semi)definite A by Gaussian elimination
    /// with partial pivoting; nil when singular.
    static func solveSymmetric(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
        var m = a, x = b
        for column in 0..<n {
            var pivot = column
            var best = abs(m[column * n + column])
            for row in (column + 1)..<max(n, column + 1) where abs(m[row * n + column]) > best {
                best = abs(m[row * n + column]); pivot = row
            }
            guard best > 1e-300 else { return nil }
            if pivot != column {
                for k in 0..<n { m.swapAt(column * n + k, pivot * n + k) }
                x.swapAt(column, pivot)
            }
            let diagonal = m[column * n + column]
            for row in (column + 1)..<max(n, column + 1) {
                let factor = m[row * n + column] / diagonal
                if factor == 0 { continue }
                for k in column..<n { m[row * n + k] -= factor * m[column * n + k] }
                x[row] -= factor * x[column]
            }
        }
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = x[row]
            for k in (row + 1)..<max(n, row + 1) { sum -= m[row * n + k] * x[k] }
            x[row] = sum / m[row * n + row]
            if !x[row].isFinite { return nil }
        }
        return x
    }
}


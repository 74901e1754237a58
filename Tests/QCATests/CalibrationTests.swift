import XCTest
@testable import QCA

final class CalibrationTests: XCTestCase {
    let full = CalibrationInputs(pixelSpacing: [0.15, 0.15], pixelSpacingCalibrationType: "GEOMETRY",
                                 imagerPixelSpacing: [0.2, 0.2], estimatedRadiographicMagnificationFactor: 1.25,
                                 distanceSourceToDetector: 1000, distanceSourceToPatient: 800)

    func testPrecedenceUserCatheterPixelSpacingImagerMagnificationGeometry() {
        var inputs = full
        inputs.userMMPerPixel = 0.3
        inputs.catheter = CatheterCalibrationInput(frenchSize: 6, measuredDiameterPixels: 10, measuredDiameterUncertaintyPixels: 0.1)
        XCTAssertEqual(CalibrationResolver.resolve(inputs).source, .user)
        XCTAssertEqual(CalibrationResolver.resolve(inputs).mmPerPixel, 0.3)

        inputs.userMMPerPixel = nil
        let catheter = CalibrationResolver.resolve(inputs)
        XCTAssertEqual(catheter.source, .catheter)
        XCTAssertEqual(catheter.mmPerPixel ?? 0, 2.0 / 10, accuracy: 1e-12)  // 6 F = 2 mm over 10 px
        XCTAssertEqual(catheter.relativeUncertainty ?? 0, 0.01, accuracy: 1e-12)

        inputs.catheter = nil
        let spacing = CalibrationResolver.resolve(inputs)
        XCTAssertEqual(spacing.source, .pixelSpacing)
        XCTAssertEqual(spacing.mmPerPixel, 0.15)
        XCTAssertEqual(spacing.pixelSpacingCalibrationType, "GEOMETRY")

        inputs.pixelSpacing = nil
        let magnification = CalibrationResolver.resolve(inputs)
        XCTAssertEqual(magnification.source, .imagerPixelSpacingMagnification)
        XCTAssertEqual(magnification.mmPerPixel ?? 0, 0.2 / 1.25, accuracy: 1e-12)

        inputs.estimatedRadiographicMagnificationFactor = nil
        let geometry = CalibrationResolver.resolve(inputs)
        XCTAssertEqual(geometry.source, .imagerPixelSpacingGeometry)
        XCTAssertEqual(geometry.mmPerPixel ?? 0, 0.2 * 800 / 1000, accuracy: 1e-12)

        inputs.distanceSourceToPatient = nil
        let none = CalibrationResolver.resolve(inputs)
        XCTAssertEqual(none.source, .none)
        XCTAssertNil(none.mmPerPixel)
        XCTAssertFalse(none.warnings.isEmpty, "imager spacing without magnification is explained")
        XCTAssertEqual(CalibrationResolver.resolve(CalibrationInputs()).source, .none)
        XCTAssertEqual(CalibrationResolver.resolve(CalibrationInputs()).warnings, [])
    }

    func testImplausibleValuesAreIgnoredWithWarnings() {
        var inputs = full
        inputs.pixelSpacing = [0, 0.15]
        inputs.estimatedRadiographicMagnificationFactor = 3.5
        let result = CalibrationResolver.resolve(inputs)
        // Pixel Spacing and the magnification factor are rejected; SID/SOD = 1.25 is used.
        XCTAssertEqual(result.source, .imagerPixelSpacingGeometry)
        XCTAssertEqual(result.mmPerPixel ?? 0, 0.16, accuracy: 1e-12)
        XCTAssertTrue(result.warnings.contains { $0.contains("Pixel Spacing (0028,0030)") }, "\(result.warnings)")
        XCTAssertTrue(result.warnings.contains { $0.contains("(0018,1114)") }, "\(result.warnings)")

        inputs.distanceSourceToPatient = 1200  // SOD > SID
        let bad = CalibrationResolver.resolve(inputs)
        XCTAssertEqual(bad.source, .none)
        XCTAssertTrue(bad.warnings.contains { $0.contains("(0018,1110)") }, "\(bad.warnings)")

        inputs.distanceSourceToDetector = -5
        XCTAssertEqual(CalibrationResolver.resolve(inputs).source, .none)

        let user = CalibrationResolver.resolve(CalibrationInputs(userMMPerPixel: -1))
        XCTAssertEqual(user.source, .none)
        XCTAssertFalse(user.warnings.isEmpty)

        let magnificationBelowOne = CalibrationResolver.resolve(CalibrationInputs(imagerPixelSpacing: [0.2, 0.2],
                                                                                  estimatedRadiographicMagnificationFactor: 0.9))
        XCTAssertEqual(magnificationBelowOne.source, .none)
    }

    func testAnisotropicSpacingUsesMeanWithWarning() {
        let result = CalibrationResolver.resolve(CalibrationInputs(pixelSpacing: [0.15, 0.17]))
        XCTAssertEqual(result.mmPerPixel ?? 0, 0.16, accuracy: 1e-12)
        XCTAssertTrue(result.warnings.contains { $0.contains("anisotropic") })
    }
}

// angio_dcm.cpp: the only code that sees DCMTK (3.6.7) and OpenJPEG (2.5).
//
// Design
// - Files are opened with a small maximum read length, so element values larger than that
//   (pixel data, fragments) stay on disk and are read on demand: opening a 2 GB cine run costs
//   a few KB of memory, and a frame decode reads only that frame's bytes or fragments.
// - Declared sizes are validated against the bytes actually present before anything is
//   allocated for pixels (see validate_pixel_module).
// - DCMTK codecs (RLE, JPEG baseline/extended/lossless, JPEG-LS) decode one frame at a time via
//   DcmPixelData::getUncompressedFrame. JPEG 2000 (.90/.91), which free DCMTK lacks, is decoded
//   here with OpenJPEG from the frame's fragments.
// - A handle is used by one thread at a time; parallel frame decoding opens one handle per
//   worker (the Swift side keeps a small pool). Codec registration is a thread-safe once-init.
// - No C++ exception crosses the C boundary: every entry point is wrapped in try/catch.
#include "dcmtk/config/osconfig.h"

#include "angio_dcm.h"

#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcrleerg.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfcache.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpeg/djencode.h"
#include "dcmtk/dcmjpeg/djrplol.h"
#include "dcmtk/dcmjpeg/djrploss.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/dcmjpls/djencode.h"
#include "dcmtk/dcmjpls/djrparam.h"
#include "dcmtk/oflog/oflog.h"

#include <openjpeg-2.5/openjpeg.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace {

// Elements longer than this stay on disk until needed (DcmFileFormat::loadFile maxReadLength).
constexpr Uint32 kMaxReadLength = 4096;
// Debian's external data dictionary (libdcmtk17); DCMTK reads DCMDICTPATH when set.
constexpr const char *kDebianDictionary = "/usr/share/libdcmtk17/dicom.dic";
// Encapsulated data: refuse decoded/compressed ratios above this for images above 64 MiB;
// no real codec reaches it on clinical images, while a forged header does (PS3.5 A.4).
constexpr double kMaxPlausibleCompressionRatio = 10000.0;
constexpr uint64_t kRatioCheckThreshold = 64ull << 20;

struct InitState {
    angio_dcm_status status = ANGIO_DCM_OK;
    std::string message;
};

InitState &init_state() {
    static InitState state;
    return state;
}

void initialize_once() {
    InitState &state = init_state();
    try {
        // Point DCMTK at Debian's dictionary when the user has not chosen one.
        if (getenv("DCMDICTPATH") == nullptr && access(kDebianDictionary, R_OK) == 0) {
            setenv("DCMDICTPATH", kDebianDictionary, 0);
        }
        // DCMTK logs at INFO by default; keep only warnings and errors.
        OFLog::configure(OFLogger::WARN_LOG_LEVEL);
        if (!dcmDataDict.isDictionaryLoaded()) {
            state.status = ANGIO_DCM_DICTIONARY_MISSING;
            const char *env = getenv("DCMDICTPATH");
            state.message = std::string("DICOM data dictionary not found (DCMDICTPATH=") +
                            (env ? env : "unset") + "; install dcmtk's libdcmtk17 package or set DCMDICTPATH)";
            return;
        }
        // Decoders: RLE (PS3.5 A.4.2), JPEG baseline/extended/lossless incl. SV1 (A.4.1),
        // JPEG-LS (A.4.3). Colour JPEG is converted to RGB as its photometric says.
        DcmRLEDecoderRegistration::registerCodecs();
        DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation, EUC_never);
        DJLSDecoderRegistration::registerCodecs(EJLSUC_never);
        // Encoders for DICOMWriter; never replace the caller's SOP Instance UID.
        DcmRLEEncoderRegistration::registerCodecs(OFFalse);
        // Lossy JPEG (process 1 / 2-4) must keep the stored-value scale. DCMTK's default
        // (pUsePixelValues = true) renders monochrome pixels through a window fitted to the
        // used min..max range, which shifts e.g. 172..222 down to 0..50; for XA it then marks
        // Pixel Intensity Relationship "DISP" instead of adjusting a Modality LUT. With
        // pUsePixelValues = false, no window and no modality rescale, the full Bits Stored
        // range maps onto the same JPEG sample precision (8 or 12 bits, enforced by the
        // writer), i.e. identity. The lossless SV1 path uses the true-lossless codec
        // (pRealLossless), which ignores these rendering options.
        DJEncoderRegistration::registerCodecs(ECC_lossyYCbCr, EUC_never,
                                              OFFalse /* pOptimizeHuffman */, 0 /* pSmoothingFactor */,
                                              0 /* pForcedBitDepth */, 0 /* pFragmentSize */,
                                              OFTrue /* pCreateOffsetTable */, ESS_422, OFTrue /* pWriteYBR422 */,
                                              OFFalse /* pConvertToSC */, 0 /* pWindowType: none */,
                                              0, 0.0, 0.0, 0, 0, 0, 0,
                                              OFFalse /* pUsePixelValues */, OFFalse /* pUseModalityRescale */,
                                              OFFalse, OFFalse, OFTrue /* pRealLossless */);
        // Raw (not "cooked") JPEG-LS encoding: DCMTK 3.6.7's cooked path produced undecodable
        // streams for 16-bit MONOCHROME1 data in our round-trip tests.
        DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFFalse, 0, OFTrue, EJLSUC_never);
    } catch (...) {
        state.status = ANGIO_DCM_DECODE_FAILED;
        state.message = "DCMTK initialisation failed";
    }
}

void copy_message(char *buffer, size_t capacity, const std::string &text) {
    if (buffer == nullptr || capacity == 0) return;
    size_t n = std::min(capacity - 1, text.size());
    memcpy(buffer, text.data(), n);
    buffer[n] = 0;
}

std::string trim(const std::string &s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\0')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\0')) --e;
    return s.substr(b, e - b);
}

bool is_vr_letters(unsigned char a, unsigned char b) { return a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z'; }

struct Sniff {
    bool readable = false;
    int error = 0;
    bool is_directory = false;
    uint64_t size = 0;
    bool has_preamble = false;        // "DICM" at offset 128 (PS3.10 7.1)
    bool plausible_dataset = false;   // a data set without preamble/meta header
    bool explicit_little = false;     // the raw data set starts with an explicit-VR LE element
};

// Cheap look at the first bytes: part-10 preamble, or a data set that starts with a small
// even group number (0002/0008/...) in either byte order.
Sniff sniff_file(const char *path) {
    Sniff s;
    struct stat st;
    if (stat(path, &st) != 0) {
        s.error = errno;
        return s;
    }
    if (S_ISDIR(st.st_mode)) {
        s.is_directory = true;
        return s;
    }
    s.size = static_cast<uint64_t>(st.st_size);
    FILE *f = fopen(path, "rb");
    if (f == nullptr) {
        s.error = errno;
        return s;
    }
    s.readable = true;
    unsigned char head[140] = {0};
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n >= 132 && memcmp(head + 128, "DICM", 4) == 0) {
        s.has_preamble = true;
        return s;
    }
    if (n >= 8) {
        unsigned group_le = head[0] | (head[1] << 8);
        unsigned group_be = (head[0] << 8) | head[1];
        auto plausible_group = [](unsigned g) { return g >= 0x0002 && g <= 0x0028 && (g % 2 == 0); };
        bool vr = is_vr_letters(head[4], head[5]);
        if (plausible_group(group_le) || plausible_group(group_be)) {
            s.plausible_dataset = true;
            s.explicit_little = plausible_group(group_le) && vr;
        }
    }
    return s;
}

bool is_truncation(const OFCondition &c) {
    return c == EC_StreamNotifyClient || c == EC_EndOfStream || c == EC_InvalidStream ||
           c == EC_SequDelimitationItemMissing || c == EC_ItemDelimitationItemMissing;
}

// PS3.5 A.4: the encapsulated transfer syntaxes this shim decodes.
enum class Codec { native, rle, jpeg, jpegls, jpeg2000, unsupported };

Codec codec_for(E_TransferSyntax xfer, const std::string &uid) {
    switch (xfer) {
    case EXS_LittleEndianImplicit:
    case EXS_LittleEndianExplicit:
    case EXS_BigEndianExplicit:
    case EXS_DeflatedLittleEndianExplicit:
    case EXS_BigEndianImplicit:
        return Codec::native;
    case EXS_RLELossless:
        return Codec::rle;
    case EXS_JPEGProcess1:
    case EXS_JPEGProcess2_4:
    case EXS_JPEGProcess14:
    case EXS_JPEGProcess14SV1:
        return Codec::jpeg;
    case EXS_JPEGLSLossless:
    case EXS_JPEGLSLossy:
        return Codec::jpegls;
    case EXS_JPEG2000LosslessOnly:
    case EXS_JPEG2000:
        return Codec::jpeg2000;
    default:
        break;
    }
    (void)uid;
    return Codec::unsupported;
}

struct JpegHeader {
    bool found = false;
    int precision = 0;
    int rows = 0;
    int columns = 0;
    int components = 0;
};

// Scans a JPEG / JPEG-LS stream for its SOF marker (ITU T.81 B.2.2, T.87 C.2.2).
JpegHeader scan_jpeg_header(const Uint8 *data, size_t length) {
    JpegHeader h;
    size_t i = 0;
    if (length < 4 || data[0] != 0xFF || data[1] != 0xD8) return h;
    i = 2;
    while (i + 4 <= length) {
        if (data[i] != 0xFF) { ++i; continue; }
        Uint8 marker = data[i + 1];
        if (marker == 0xFF) { ++i; continue; }
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { i += 2; continue; }
        size_t segment = (static_cast<size_t>(data[i + 2]) << 8) | data[i + 3];
        bool sof = (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) ||
                   marker == 0xF7;
        if (sof) {
            if (i + 10 > length) return h;
            h.found = true;
            h.precision = data[i + 4];
            h.rows = (data[i + 5] << 8) | data[i + 6];
            h.columns = (data[i + 7] << 8) | data[i + 8];
            h.components = data[i + 9];
            return h;
        }
        if (marker == 0xDA || marker == 0xD9) return h;  // scan data before any SOF
        i += 2 + segment;
    }
    return h;
}

// --- OpenJPEG memory stream ------------------------------------------------------------

struct MemoryStream {
    const Uint8 *data;
    OPJ_SIZE_T size;
    OPJ_SIZE_T offset;
};

OPJ_SIZE_T mem_read(void *buffer, OPJ_SIZE_T count, void *user) {
    auto *m = static_cast<MemoryStream *>(user);
    if (m->offset >= m->size) return static_cast<OPJ_SIZE_T>(-1);
    OPJ_SIZE_T n = std::min(count, m->size - m->offset);
    memcpy(buffer, m->data + m->offset, n);
    m->offset += n;
    return n;
}

OPJ_OFF_T mem_skip(OPJ_OFF_T count, void *user) {
    auto *m = static_cast<MemoryStream *>(user);
    if (count < 0) {
        OPJ_SIZE_T back = static_cast<OPJ_SIZE_T>(-count);
        if (back > m->offset) back = m->offset;
        m->offset -= back;
        return -static_cast<OPJ_OFF_T>(back);
    }
    OPJ_SIZE_T forward = std::min(static_cast<OPJ_SIZE_T>(count), m->size - m->offset);
    m->offset += forward;
    return static_cast<OPJ_OFF_T>(forward);
}

OPJ_BOOL mem_seek(OPJ_OFF_T position, void *user) {
    auto *m = static_cast<MemoryStream *>(user);
    if (position < 0 || static_cast<OPJ_SIZE_T>(position) > m->size) return OPJ_FALSE;
    m->offset = static_cast<OPJ_SIZE_T>(position);
    return OPJ_TRUE;
}

void opj_message_sink(const char *msg, void *user) {
    auto *text = static_cast<std::string *>(user);
    if (text->empty() && msg != nullptr) {
        *text = trim(msg);
        while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    }
}
void opj_quiet(const char *, void *) {}

}  // namespace

struct angio_dcm_file {
    std::string path;
    std::string message;
    DcmFileFormat fileformat;
    angio_dcm_image_info info{};
    E_TransferSyntax xfer = EXS_Unknown;
    Codec codec = Codec::unsupported;
    bool image_valid = false;
    bool native_ybr422 = false;   // uncompressed YBR_FULL_422 stored subsampled (PS3.3 C.7.6.3.1.2)
    DcmPixelData *pixel_data = nullptr;
    DcmPixelSequence *pixel_sequence = nullptr;
    std::vector<Uint32> frame_start_fragment;  // 1-based item index of each frame's first fragment
    bool fragment_table_built = false;
    std::vector<Uint8> scratch;
    std::vector<Uint8> compressed;

    angio_dcm_status fail(angio_dcm_status status, const std::string &text) {
        message = text;
        return status;
    }
};

namespace {

DcmDataset *dataset_of(const angio_dcm_file *file) {
    return const_cast<DcmFileFormat &>(file->fileformat).getDataset();
}

bool get_uint16(DcmItem *item, const DcmTagKey &key, Uint16 &value) {
    return item->findAndGetUint16(key, value).good();
}

std::string get_string(DcmItem *item, const DcmTagKey &key) {
    OFString value;
    if (item->findAndGetOFStringArray(key, value).good()) return trim(value.c_str());
    return std::string();
}

std::string describe_tag(const DcmTagKey &key) {
    char text[32];
    snprintf(text, sizeof text, "(%04x,%04x)", key.getGroup(), key.getElement());
    return text;
}

// PS3.3 C.7.6.3: reads and checks the Image Pixel module; fills file->info.
angio_dcm_status read_pixel_module(angio_dcm_file *file, bool strict) {
    DcmDataset *ds = dataset_of(file);
    angio_dcm_image_info &info = file->info;
    Uint16 rows = 0, columns = 0, bits_allocated = 0, bits_stored = 0, high_bit = 0, pixel_rep = 0;
    Uint16 spp = 1, planar = 0;
    bool has_rows = get_uint16(ds, DCM_Rows, rows);
    bool has_columns = get_uint16(ds, DCM_Columns, columns);
    bool has_allocated = get_uint16(ds, DCM_BitsAllocated, bits_allocated);
    bool has_stored = get_uint16(ds, DCM_BitsStored, bits_stored);
    bool has_high = get_uint16(ds, DCM_HighBit, high_bit);
    get_uint16(ds, DCM_PixelRepresentation, pixel_rep);
    bool has_spp = get_uint16(ds, DCM_SamplesPerPixel, spp);
    get_uint16(ds, DCM_PlanarConfiguration, planar);
    std::string photometric = get_string(ds, DCM_PhotometricInterpretation);

    Sint32 frames = 1;
    std::string frames_text = get_string(ds, DCM_NumberOfFrames);
    if (!frames_text.empty()) {
        char *end = nullptr;
        long parsed = strtol(frames_text.c_str(), &end, 10);
        if (end != nullptr && *end == 0 && parsed >= 1 && parsed <= 0x7FFFFFFFL) {
            frames = static_cast<Sint32>(parsed);
        }
        // Otherwise keep 1, as DCMTK does for garbage values; the Swift side reports that the
        // declared value was unreadable (numberOfFramesDeclared is nil while the tag exists).
    }

    info.rows = rows;
    info.columns = columns;
    info.frames = static_cast<uint32_t>(frames);
    info.bits_allocated = bits_allocated;
    info.bits_stored = has_stored ? bits_stored : bits_allocated;
    info.high_bit = has_high ? high_bit : (info.bits_stored > 0 ? info.bits_stored - 1 : 0);
    info.pixel_representation = pixel_rep;
    info.samples_per_pixel = has_spp ? spp : 1;
    info.planar_configuration = planar;
    if (photometric.empty() && info.samples_per_pixel == 1) photometric = "MONOCHROME2";
    copy_message(info.photometric, sizeof info.photometric, photometric);
    if (!strict) return ANGIO_DCM_OK;

    if (!has_rows || rows == 0) return file->fail(ANGIO_DCM_MALFORMED, "Rows (0028,0010) is missing or zero");
    if (!has_columns || columns == 0) return file->fail(ANGIO_DCM_MALFORMED, "Columns (0028,0011) is missing or zero");
    if (!has_allocated) return file->fail(ANGIO_DCM_MALFORMED, "Bits Allocated (0028,0100) is missing");
    if (bits_allocated != 8 && bits_allocated != 16 && bits_allocated != 32) {
        return file->fail(ANGIO_DCM_DECODE_FAILED,
                          "Bits Allocated (0028,0100) = " + std::to_string(bits_allocated) +
                              " is not supported (8, 16 or 32)");
    }
    if (info.bits_stored == 0 || info.bits_stored > bits_allocated) {
        return file->fail(ANGIO_DCM_MALFORMED, "Bits Stored (0028,0101) = " + std::to_string(info.bits_stored) +
                                                   " does not fit Bits Allocated " + std::to_string(bits_allocated));
    }
    if (info.high_bit >= bits_allocated || info.high_bit + 1 < info.bits_stored) {
        // PS3.5 8.1.1: High Bit is normally Bits Stored - 1; tolerate only consistent layouts.
        info.high_bit = info.bits_stored - 1;
    }
    if (pixel_rep > 1) return file->fail(ANGIO_DCM_MALFORMED, "Pixel Representation (0028,0103) must be 0 or 1");

    const std::string &p = photometric;
    bool mono = p == "MONOCHROME1" || p == "MONOCHROME2";
    bool palette = p == "PALETTE COLOR";
    bool color3 = p == "RGB" || p == "YBR_FULL" || p == "YBR_FULL_422" || p == "YBR_ICT" || p == "YBR_RCT";
    if (!mono && !palette && !color3) {
        return file->fail(ANGIO_DCM_UNSUPPORTED_PHOTOMETRIC,
                          "Photometric Interpretation (0028,0004) '" + p + "' is not supported");
    }
    if ((mono || palette) && info.samples_per_pixel != 1) {
        return file->fail(ANGIO_DCM_MALFORMED, "Samples per Pixel (0028,0002) is " +
                                                   std::to_string(info.samples_per_pixel) + " for " + p);
    }
    if (color3 && info.samples_per_pixel != 3) {
        return file->fail(ANGIO_DCM_MALFORMED, "Samples per Pixel (0028,0002) is " +
                                                   std::to_string(info.samples_per_pixel) + " for " + p);
    }
    if (palette && bits_allocated > 16) {
        return file->fail(ANGIO_DCM_MALFORMED, "PALETTE COLOR with Bits Allocated > 16");
    }
    return ANGIO_DCM_OK;
}

std::string size_text(const angio_dcm_image_info &info) {
    char text[160];
    snprintf(text, sizeof text, "%ux%u pixels x %u frame(s) x %u sample(s) x %u bits", info.columns, info.rows,
             info.frames, info.samples_per_pixel, info.bits_allocated);
    return text;
}

// Checks declared Rows x Columns x Frames x Samples x Bits Allocated against the bytes present
// and against the caller's cap, before anything is allocated for pixels.
angio_dcm_status validate_pixel_data(angio_dcm_file *file, uint64_t max_pixel_bytes) {
    DcmDataset *ds = dataset_of(file);
    angio_dcm_image_info &info = file->info;
    DcmElement *element = nullptr;
    // Pixel Data must be a top-level element (PS3.3 C.7.6.3); nested icons do not count.
    if (ds->findAndGetElement(DCM_PixelData, element, OFFalse).bad() || element == nullptr) {
        DcmElement *other = nullptr;
        if (ds->findAndGetElement(DCM_FloatPixelData, other, OFFalse).good() ||
            ds->findAndGetElement(DCM_DoubleFloatPixelData, other, OFFalse).good()) {
            return file->fail(ANGIO_DCM_NO_PIXEL_DATA,
                              "only Float/Double Float Pixel Data present, no integer Pixel Data (7fe0,0010)");
        }
        return file->fail(ANGIO_DCM_NO_PIXEL_DATA, "no Pixel Data (7fe0,0010) element");
    }
    if (element->ident() != EVR_PixelData) {
        return file->fail(ANGIO_DCM_MALFORMED, "Pixel Data (7fe0,0010) has an unexpected structure");
    }
    file->pixel_data = static_cast<DcmPixelData *>(element);

    const unsigned __int128 samples =
        static_cast<unsigned __int128>(info.rows) * info.columns * info.samples_per_pixel;
    const unsigned __int128 bytes_per_sample = info.bits_allocated / 8;
    unsigned __int128 frame_bytes = samples * bytes_per_sample;
    const std::string photometric = info.photometric;

    if (file->codec == Codec::native) {
        const uint64_t present = element->getLength();
        if (present == 0) return file->fail(ANGIO_DCM_NO_PIXEL_DATA, "Pixel Data (7fe0,0010) is empty");
        if (photometric == "YBR_FULL_422") {
            // Stored subsampled unless the length shows full-resolution data (then the label
            // is a leftover from decompression, as DCMTK also assumes).
            unsigned __int128 full = frame_bytes * info.frames;
            if (present < full) {
                file->native_ybr422 = true;
                frame_bytes = static_cast<unsigned __int128>(info.rows) * info.columns * 2 * bytes_per_sample;
                if (info.columns % 2 != 0) {
                    return file->fail(ANGIO_DCM_MALFORMED, "YBR_FULL_422 with an odd number of Columns");
                }
            }
        }
        const unsigned __int128 declared = frame_bytes * info.frames;
        if (declared > present) {
            char text[320];
            snprintf(text, sizeof text,
                     "declared image (%s = %llu bytes) is larger than the Pixel Data present (%llu bytes)",
                     size_text(info).c_str(), static_cast<unsigned long long>(std::min<unsigned __int128>(declared, ~0ull)),
                     static_cast<unsigned long long>(present));
            return file->fail(ANGIO_DCM_SIZE_INCONSISTENT, text);
        }
        if (declared > max_pixel_bytes) {
            char text[320];
            snprintf(text, sizeof text, "image of %llu bytes (%s) exceeds the limit of %llu bytes",
                     static_cast<unsigned long long>(declared), size_text(info).c_str(),
                     static_cast<unsigned long long>(max_pixel_bytes));
            return file->fail(ANGIO_DCM_IMAGE_TOO_LARGE, text);
        }
        return ANGIO_DCM_OK;
    }

    // Encapsulated (PS3.5 A.4): first item is the Basic Offset Table, then the fragments.
    DcmPixelSequence *sequence = nullptr;
    OFCondition c = file->pixel_data->getEncapsulatedRepresentation(file->xfer, nullptr, sequence);
    if (c.bad() || sequence == nullptr) {
        // Transfer syntaxes unknown to DCMTK: the pixel sequence is kept under the
        // representation DCMTK assigned while parsing.
        E_TransferSyntax representation = EXS_Unknown;
        const DcmRepresentationParameter *parameter = nullptr;
        file->pixel_data->getOriginalRepresentationKey(representation, parameter);
        c = file->pixel_data->getEncapsulatedRepresentation(representation, parameter, sequence);
    }
    if (c.bad() || sequence == nullptr) {
        return file->fail(ANGIO_DCM_MALFORMED, std::string("encapsulated Pixel Data is not a valid pixel sequence (") +
                                                   c.text() + ")");
    }
    file->pixel_sequence = sequence;
    const unsigned long items = sequence->card();
    if (items < 2) return file->fail(ANGIO_DCM_NO_PIXEL_DATA, "encapsulated Pixel Data holds no fragments");
    const unsigned long fragments = items - 1;
    if (fragments < info.frames && file->codec != Codec::jpeg2000 && file->codec != Codec::jpeg &&
        file->codec != Codec::jpegls) {
        // RLE: exactly one fragment per frame (PS3.5 A.4.2).
        return file->fail(ANGIO_DCM_SIZE_INCONSISTENT, std::to_string(info.frames) + " frames declared but only " +
                                                           std::to_string(fragments) + " fragment(s) present");
    }
    if (fragments < info.frames) {
        // A frame may span several fragments, but a fragment never holds two frames' starts
        // in valid data (PS3.5 A.4: "a fragment shall not contain data of more than one frame").
        return file->fail(ANGIO_DCM_SIZE_INCONSISTENT, std::to_string(info.frames) + " frames declared but only " +
                                                           std::to_string(fragments) + " fragment(s) present");
    }
    uint64_t compressed = 0;
    for (unsigned long i = 1; i < items; ++i) {
        DcmPixelItem *item = nullptr;
        if (sequence->getItem(item, i).good() && item != nullptr) compressed += item->getLength();
    }
    const unsigned __int128 declared = frame_bytes * info.frames;
    if (compressed == 0) return file->fail(ANGIO_DCM_NO_PIXEL_DATA, "encapsulated Pixel Data fragments are empty");
    if (declared > kRatioCheckThreshold &&
        static_cast<double>(declared) > kMaxPlausibleCompressionRatio * static_cast<double>(compressed)) {
        char text[320];
        snprintf(text, sizeof text,
                 "declared image (%s) is implausibly large for %llu bytes of compressed data",
                 size_text(info).c_str(), static_cast<unsigned long long>(compressed));
        return file->fail(ANGIO_DCM_SIZE_INCONSISTENT, text);
    }
    if (declared > max_pixel_bytes) {
        char text[320];
        snprintf(text, sizeof text, "image of %llu bytes (%s) exceeds the limit of %llu bytes",
                 static_cast<unsigned long long>(std::min<unsigned __int128>(declared, ~0ull)), size_text(info).c_str(),
                 static_cast<unsigned long long>(max_pixel_bytes));
        return file->fail(ANGIO_DCM_IMAGE_TOO_LARGE, text);
    }
    return ANGIO_DCM_OK;
}

// Reads the first bytes of a fragment without loading it into memory.
bool fragment_prefix(DcmPixelItem *item, Uint8 *out, Uint32 count) {
    if (item == nullptr || item->getLength() < count) return false;
    DcmFileCache cache;
    return item->getPartialValue(out, 0, count, &cache, EBO_LittleEndian).good();
}

bool starts_codestream(const Uint8 *p, Codec codec) {
    switch (codec) {
    case Codec::jpeg:
    case Codec::jpegls:
        return p[0] == 0xFF && p[1] == 0xD8;  // SOI
    case Codec::jpeg2000:
        return (p[0] == 0xFF && p[1] == 0x4F && p[2] == 0xFF && p[3] == 0x51) ||          // SOC + SIZ
               (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0x0C && p[4] == 0x6A && p[5] == 0x50);  // JP2
    default:
        return true;
    }
}

// Maps frames to their first fragment (PS3.5 A.4): one fragment per frame; a single frame
// using every fragment; the Basic Offset Table; or, with an empty table, the codestream start
// markers at the head of fragments.
angio_dcm_status build_fragment_table(angio_dcm_file *file) {
    if (file->fragment_table_built) return ANGIO_DCM_OK;
    DcmPixelSequence *seq = file->pixel_sequence;
    const Uint32 frames = file->info.frames;
    const Uint32 fragments = static_cast<Uint32>(seq->card()) - 1;
    std::vector<Uint32> starts;
    if (frames == 1) {
        starts.push_back(1);
    } else if (fragments == frames) {
        for (Uint32 f = 0; f < frames; ++f) starts.push_back(f + 1);
    } else {
        DcmPixelItem *table = nullptr;
        bool from_table = false;
        if (seq->getItem(table, 0).good() && table != nullptr && table->getLength() == 4 * frames) {
            std::vector<Uint8> raw(table->getLength());
            DcmFileCache cache;
            if (table->getPartialValue(raw.data(), 0, table->getLength(), &cache, EBO_LittleEndian).good()) {
                std::vector<Uint32> offsets(frames);
                for (Uint32 f = 0; f < frames; ++f) {
                    offsets[f] = raw[4 * f] | (raw[4 * f + 1] << 8) | (raw[4 * f + 2] << 16) |
                                 (static_cast<Uint32>(raw[4 * f + 3]) << 24);
                }
                uint64_t position = 0;
                size_t next = 0;
                for (Uint32 i = 1; i <= fragments && next < frames; ++i) {
                    while (next < frames && offsets[next] == position) {
                        starts.push_back(i);
                        ++next;
                    }
                    DcmPixelItem *item = nullptr;
                    if (seq->getItem(item, i).bad() || item == nullptr) break;
                    position += static_cast<uint64_t>(item->getLength()) + 8;  // item tag + length
                }
                from_table = starts.size() == frames;
            }
        }
        if (!from_table) {
            starts.clear();
            Uint8 prefix[8];
            for (Uint32 i = 1; i <= fragments; ++i) {
                DcmPixelItem *item = nullptr;
                if (seq->getItem(item, i).bad()) break;
                if (fragment_prefix(item, prefix, 8) && starts_codestream(prefix, file->codec)) starts.push_back(i);
            }
            if (starts.size() != frames) {
                return file->fail(ANGIO_DCM_DECODE_FAILED,
                                  "cannot locate the fragments of each frame: " + std::to_string(frames) +
                                      " frames, " + std::to_string(fragments) +
                                      " fragments, no usable Basic Offset Table and " + std::to_string(starts.size()) +
                                      " codestream starts found");
            }
        }
    }
    file->frame_start_fragment = starts;
    file->fragment_table_built = true;
    return ANGIO_DCM_OK;
}

// Concatenates the fragments of one frame into file->compressed.
angio_dcm_status gather_frame(angio_dcm_file *file, Uint32 frame) {
    DcmPixelSequence *seq = file->pixel_sequence;
    const Uint32 items = static_cast<Uint32>(seq->card());
    Uint32 first = file->frame_start_fragment[frame];
    Uint32 end = frame + 1 < file->frame_start_fragment.size() ? file->frame_start_fragment[frame + 1] : items;
    file->compressed.clear();
    for (Uint32 i = first; i < end; ++i) {
        DcmPixelItem *item = nullptr;
        if (seq->getItem(item, i).bad() || item == nullptr) {
            return file->fail(ANGIO_DCM_MALFORMED, "fragment " + std::to_string(i) + " is missing");
        }
        Uint32 length = item->getLength();
        size_t offset = file->compressed.size();
        file->compressed.resize(offset + length);
        if (length > 0) {
            DcmFileCache cache;
            OFCondition c = item->getPartialValue(file->compressed.data() + offset, 0, length, &cache, EBO_LittleEndian);
            if (c.bad()) {
                return file->fail(ANGIO_DCM_TRUNCATED, std::string("cannot read fragment ") + std::to_string(i) +
                                                           " (" + c.text() + ")");
            }
        }
    }
    return ANGIO_DCM_OK;
}

// Converts raw sample words into stored values: bits unpacked per Bits Stored / High Bit,
// sign extended for Pixel Representation 1 (PS3.5 8.1.1, 8.2).
void unpack_samples(const Uint8 *raw, size_t count, unsigned width, unsigned shift, unsigned bits_stored,
                    bool is_signed, int32_t *out) {
    const uint64_t mask = bits_stored >= 32 ? 0xFFFFFFFFull : ((1ull << bits_stored) - 1);
    const uint64_t sign_bit = 1ull << (bits_stored - 1);
    for (size_t i = 0; i < count; ++i) {
        uint64_t v;
        if (width == 1) {
            v = raw[i];
        } else if (width == 2) {
            Uint16 w;
            memcpy(&w, raw + 2 * i, 2);
            v = w;
        } else {
            Uint32 w;
            memcpy(&w, raw + 4 * i, 4);
            v = w;
        }
        v = (v >> shift) & mask;
        int64_t value = static_cast<int64_t>(v);
        if (is_signed && (v & sign_bit)) value -= static_cast<int64_t>(mask) + 1;
        if (value > INT32_MAX) value = INT32_MAX;  // unsigned 32-bit beyond Int32: clamp
        out[i] = static_cast<int32_t>(value);
    }
}

// Re-interleaves planar (R...G...B...) samples in place through a temporary copy.
void interleave_planar(int32_t *values, size_t pixels) {
    std::vector<int32_t> copy(values, values + 3 * pixels);
    for (size_t i = 0; i < pixels; ++i) {
        values[3 * i] = copy[i];
        values[3 * i + 1] = copy[pixels + i];
        values[3 * i + 2] = copy[2 * pixels + i];
    }
}

angio_dcm_status decode_jpeg2000(angio_dcm_file *file, Uint32 frame, int32_t *values, std::string &color_model) {
    angio_dcm_status status = gather_frame(file, frame);
    if (status != ANGIO_DCM_OK) return status;
    const std::vector<Uint8> &data = file->compressed;
    const angio_dcm_image_info &info = file->info;
    if (data.size() < 12) return file->fail(ANGIO_DCM_DECODE_FAILED, "JPEG 2000 codestream is empty or too short");
    OPJ_CODEC_FORMAT format;
    if (data[0] == 0xFF && data[1] == 0x4F) {
        format = OPJ_CODEC_J2K;
    } else if (data[4] == 0x6A && data[5] == 0x50 && data[6] == 0x20 && data[7] == 0x20) {
        format = OPJ_CODEC_JP2;
    } else {
        return file->fail(ANGIO_DCM_DECODE_FAILED, "fragment does not start with a JPEG 2000 codestream or JP2 box");
    }
    std::string opj_error;
    opj_codec_t *codec = opj_create_decompress(format);
    if (codec == nullptr) return file->fail(ANGIO_DCM_DECODE_FAILED, "OpenJPEG could not create a decoder");
    opj_set_error_handler(codec, opj_message_sink, &opj_error);
    opj_set_warning_handler(codec, opj_quiet, nullptr);
    opj_set_info_handler(codec, opj_quiet, nullptr);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    MemoryStream memory{data.data(), data.size(), 0};
    opj_stream_t *stream = opj_stream_default_create(OPJ_TRUE);
    opj_image_t *image = nullptr;
    auto cleanup = [&]() {
        if (image) opj_image_destroy(image);
        if (stream) opj_stream_destroy(stream);
        opj_destroy_codec(codec);
    };
    if (stream == nullptr) {
        cleanup();
        return file->fail(ANGIO_DCM_DECODE_FAILED, "OpenJPEG could not create a stream");
    }
    opj_stream_set_user_data(stream, &memory, nullptr);
    opj_stream_set_user_data_length(stream, data.size());
    opj_stream_set_read_function(stream, mem_read);
    opj_stream_set_skip_function(stream, mem_skip);
    opj_stream_set_seek_function(stream, mem_seek);
    if (!opj_setup_decoder(codec, &parameters)) {
        cleanup();
        return file->fail(ANGIO_DCM_DECODE_FAILED, "OpenJPEG decoder setup failed");
    }
    // Strict mode: a truncated codestream is an error, not a silently partial image.
    opj_decoder_set_strict_mode(codec, OPJ_TRUE);
    // A single-frame image uses OpenJPEG's own code-block threads; multi-frame files are
    // parallelised across frames by the caller instead (no oversubscription). The decoded
    // values do not depend on the thread count.
    opj_codec_set_threads(codec, info.frames == 1 ? std::max(1, opj_get_num_cpus()) : 1);
    if (!opj_read_header(stream, codec, &image) || image == nullptr) {
        std::string why = opj_error.empty() ? "invalid header" : opj_error;
        cleanup();
        return file->fail(ANGIO_DCM_DECODE_FAILED, "JPEG 2000 header: " + why);
    }
    const Uint32 width = image->x1 - image->x0, height = image->y1 - image->y0;
    if (width != info.columns || height != info.rows) {
        char text[200];
        snprintf(text, sizeof text, "JPEG 2000 codestream is %ux%u but Rows/Columns declare %ux%u", width, height,
                 info.columns, info.rows);
        cleanup();
        return file->fail(ANGIO_DCM_SIZE_INCONSISTENT, text);
    }
    if (image->numcomps < info.samples_per_pixel) {
        cleanup();
        return file->fail(ANGIO_DCM_DECODE_FAILED, "JPEG 2000 codestream has " + std::to_string(image->numcomps) +
                                                       " component(s), Samples per Pixel is " +
                                                       std::to_string(info.samples_per_pixel));
    }
    if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) {
        std::string why = opj_error.empty() ? "corrupt or truncated codestream" : opj_error;
        cleanup();
        return file->fail(ANGIO_DCM_DECODE_FAILED, "JPEG 2000 decode: " + why);
    }
    const size_t pixels = static_cast<size_t>(info.rows) * info.columns;
    const unsigned spp = info.samples_per_pixel;
    const unsigned bits = info.bits_stored;
    const bool dicom_signed = info.pixel_representation == 1;
    for (unsigned c = 0; c < spp; ++c) {
        opj_image_comp_t &comp = image->comps[c];
        if (comp.data == nullptr || comp.w != width || comp.h != height || comp.dx != 1 || comp.dy != 1) {
            cleanup();
            return file->fail(ANGIO_DCM_DECODE_FAILED, "JPEG 2000 component " + std::to_string(c) +
                                                           " is subsampled or missing (not supported)");
        }
        const uint64_t mask = bits >= 32 ? 0xFFFFFFFFull : ((1ull << bits) - 1);
        for (size_t i = 0; i < pixels; ++i) {
            int64_t v = comp.data[i];
            if (dicom_signed) {
                // Keep the value if the codestream is signed; otherwise reinterpret Bits Stored
                // bits as two's complement (some encoders mark signed data unsigned).
                if (!comp.sgnd) {
                    uint64_t u = static_cast<uint64_t>(v) & mask;
                    v = (u & (1ull << (bits - 1))) ? static_cast<int64_t>(u) - static_cast<int64_t>(mask) - 1
                                                   : static_cast<int64_t>(u);
                }
            } else if (comp.sgnd && v < 0) {
                v = static_cast<int64_t>(static_cast<uint64_t>(v) & mask);
            }
            values[i * spp + c] = static_cast<int32_t>(v);
        }
    }
    std::string photometric = info.photometric;
    // YBR_ICT / YBR_RCT say the codestream used the multiple component transform, which
    // OpenJPEG inverts while decoding (PS3.5 A.4.4): the samples are RGB now.
    if (photometric == "YBR_ICT" || photometric == "YBR_RCT") photometric = "RGB";
    color_model = photometric;
    cleanup();
    return ANGIO_DCM_OK;
}

angio_dcm_status decode_with_dcmtk(angio_dcm_file *file, Uint32 frame, int32_t *values, std::string &color_model) {
    const angio_dcm_image_info &info = file->info;
    DcmDataset *ds = dataset_of(file);
    const size_t pixels = static_cast<size_t>(info.rows) * info.columns;
    const size_t samples = pixels * info.samples_per_pixel;
    unsigned width = info.bits_allocated / 8;
    Uint32 start_fragment = 0;

    if (file->codec != Codec::native) {
        angio_dcm_status status = build_fragment_table(file);
        if (status != ANGIO_DCM_OK) return status;
        start_fragment = file->frame_start_fragment[frame];
        DcmPixelItem *item = nullptr;
        if (file->pixel_sequence->getItem(item, start_fragment).bad() || item == nullptr) {
            return file->fail(ANGIO_DCM_MALFORMED, "frame fragment missing");
        }
        if (file->codec == Codec::jpeg || file->codec == Codec::jpegls) {
            // Read the codestream header to know the decoded sample width and to refuse a
            // stream whose dimensions disagree with Rows/Columns before decoding it. The
            // fragment is loaded into memory here once; DCMTK's decoder then reuses it.
            Uint8 *fragment_data = nullptr;
            const Uint32 fragment_length = item->getLength();
            if (fragment_length == 0 || item->getUint8Array(fragment_data).bad() || fragment_data == nullptr) {
                return file->fail(ANGIO_DCM_TRUNCATED, "cannot read the frame's first fragment");
            }
            JpegHeader header = scan_jpeg_header(fragment_data, fragment_length);
            if (!header.found) {
                return file->fail(ANGIO_DCM_DECODE_FAILED, "frame " + std::to_string(frame) +
                                                               ": no JPEG start-of-frame marker in its first fragment");
            }
            if ((header.rows != 0 && static_cast<Uint32>(header.rows) != info.rows) ||
                static_cast<Uint32>(header.columns) != info.columns) {
                char text[200];
                snprintf(text, sizeof text, "JPEG stream is %dx%d but Rows/Columns declare %ux%u", header.columns,
                         header.rows, info.columns, info.rows);
                return file->fail(ANGIO_DCM_SIZE_INCONSISTENT, text);
            }
            if (file->codec == Codec::jpeg) {
                width = header.precision > 8 ? 2 : 1;
            } else {
                width = (info.bits_stored > 8 || info.bits_allocated > 8) ? 2 : 1;
            }
        } else if (file->codec == Codec::rle) {
            width = info.bits_allocated / 8;
        }
    }

    // DCMTK wants room for its own notion of the frame (Bits Allocated wide, +1 pad byte).
    size_t buffer_bytes = std::max<size_t>(samples * std::max<unsigned>(width, info.bits_allocated / 8), 1) + 8;
    if (file->native_ybr422) buffer_bytes = pixels * 2 * width + 8;
    if (buffer_bytes > 0xFFFFFFF0ull) return file->fail(ANGIO_DCM_IMAGE_TOO_LARGE, "frame exceeds 4 GB");
    try {
        file->scratch.resize(buffer_bytes);
    } catch (const std::bad_alloc &) {
        return file->fail(ANGIO_DCM_IMAGE_TOO_LARGE, "out of memory for one frame");
    }
    OFString decoded_model;
    Uint32 fragment = start_fragment;
    DcmFileCache cache;
    OFCondition c = file->pixel_data->getUncompressedFrame(ds, frame, fragment, file->scratch.data(),
                                                           static_cast<Uint32>(buffer_bytes), decoded_model,
                                                           file->codec == Codec::native ? &cache : nullptr);
    // Free the fragments DCMTK loaded; they can be re-read from the file (bounded memory).
    if (file->pixel_sequence != nullptr) {
        const Uint32 items = static_cast<Uint32>(file->pixel_sequence->card());
        Uint32 end = frame + 1 < file->frame_start_fragment.size() ? file->frame_start_fragment[frame + 1] : items;
        for (Uint32 i = start_fragment; i < end && i < items; ++i) {
            DcmPixelItem *item = nullptr;
            if (file->pixel_sequence->getItem(item, i).good() && item != nullptr) item->compact();
        }
    }
    if (c.bad()) {
        angio_dcm_status code = file->codec == Codec::native ? ANGIO_DCM_TRUNCATED : ANGIO_DCM_DECODE_FAILED;
        return file->fail(code, "frame " + std::to_string(frame) + ": " + c.text());
    }
    color_model = trim(decoded_model.c_str());
    if (color_model.empty()) color_model = info.photometric;

    const bool is_signed = info.pixel_representation == 1;
    if (file->native_ybr422) {
        // PS3.3 C.7.6.3.1.2: Y1 Y2 Cb Cr per horizontal pixel pair -> Y Cb Cr per pixel.
        std::vector<int32_t> packed(pixels * 2);
        unpack_samples(file->scratch.data(), pixels * 2, width, 0, info.bits_stored, false, packed.data());
        for (size_t pair = 0; pair < pixels / 2; ++pair) {
            const int32_t *q = &packed[4 * pair];
            int32_t *o = &values[6 * pair];
            o[0] = q[0]; o[1] = q[2]; o[2] = q[3];
            o[3] = q[1]; o[4] = q[2]; o[5] = q[3];
        }
        color_model = "YBR_FULL";
        return ANGIO_DCM_OK;
    }
    // Native data keeps High Bit placement; decoded codestreams hold plain sample values.
    unsigned shift = file->codec == Codec::native ? info.high_bit + 1 - info.bits_stored : 0;
    unpack_samples(file->scratch.data(), samples, width, shift, info.bits_stored, is_signed, values);
    if (info.samples_per_pixel == 3 && info.planar_configuration == 1) interleave_planar(values, pixels);
    return ANGIO_DCM_OK;
}

std::string xfer_name(E_TransferSyntax xfer, const std::string &uid) {
    if (xfer != EXS_Unknown) return DcmXfer(xfer).getXferName();
    const char *name = dcmFindNameOfUID(uid.c_str(), nullptr);
    return name ? name : "";
}

}  // namespace

extern "C" {

angio_dcm_status angio_dcm_initialize(char *message, size_t message_capacity) {
    static std::once_flag once;
    try {
        std::call_once(once, initialize_once);
    } catch (...) {
        copy_message(message, message_capacity, "DCMTK initialisation failed");
        return ANGIO_DCM_DECODE_FAILED;
    }
    const InitState &state = init_state();
    if (state.status != ANGIO_DCM_OK) copy_message(message, message_capacity, state.message);
    return state.status;
}

angio_dcm_status angio_dcm_open(const char *path, angio_dcm_open_mode mode, uint64_t max_pixel_bytes,
                                angio_dcm_file **out, char *message, size_t message_capacity) {
    if (out == nullptr) return ANGIO_DCM_INVALID_ARGUMENT;
    *out = nullptr;
    if (path == nullptr) {
        copy_message(message, message_capacity, "no path given");
        return ANGIO_DCM_INVALID_ARGUMENT;
    }
    angio_dcm_status init = angio_dcm_initialize(message, message_capacity);
    if (init != ANGIO_DCM_OK) return init;

    angio_dcm_file *file = nullptr;
    try {
        Sniff sniff = sniff_file(path);
        if (sniff.is_directory) {
            copy_message(message, message_capacity, "is a directory, not a file");
            return ANGIO_DCM_IO_ERROR;
        }
        if (!sniff.readable) {
            copy_message(message, message_capacity, std::string("cannot open: ") + strerror(sniff.error));
            return ANGIO_DCM_IO_ERROR;
        }
        if (sniff.size == 0) {
            copy_message(message, message_capacity, "empty file, not a DICOM file");
            return ANGIO_DCM_NOT_DICOM;
        }
        if (!sniff.has_preamble && !sniff.plausible_dataset) {
            copy_message(message, message_capacity,
                         "not a DICOM file (no 'DICM' prefix at byte 128 and no recognisable data set start)");
            return ANGIO_DCM_NOT_DICOM;
        }

        file = new angio_dcm_file();
        file->path = path;
        OFCondition c = file->fileformat.loadFile(path, EXS_Unknown, EGL_noChange, kMaxReadLength, ERM_autoDetect);
        if (c.bad() && !sniff.has_preamble && sniff.explicit_little) {
            // No meta header: DCMTK's auto-detection may guess implicit VR wrongly when the
            // data set is explicit VR little endian; retry with that encoding.
            file->fileformat.clear();
            OFCondition retry = file->fileformat.loadFile(path, EXS_LittleEndianExplicit, EGL_noChange, kMaxReadLength,
                                                          ERM_dataset);
            if (retry.good()) c = retry;
        }
        if (c.bad()) {
            angio_dcm_status code = is_truncation(c) ? ANGIO_DCM_TRUNCATED : ANGIO_DCM_MALFORMED;
            std::string text = code == ANGIO_DCM_TRUNCATED
                                   ? std::string("file ends before the data set is complete (") + c.text() + ")"
                                   : std::string("cannot parse the data set (") + c.text() + ")";
            copy_message(message, message_capacity, text);
            delete file;
            return code;
        }

        DcmMetaInfo *meta = file->fileformat.getMetaInfo();
        std::string meta_xfer;
        if (meta != nullptr) meta_xfer = get_string(meta, DCM_TransferSyntaxUID);
        if (sniff.has_preamble && meta_xfer.empty()) {
            copy_message(message, message_capacity,
                         "File Meta Information lacks Transfer Syntax UID (0002,0010) (PS3.10 7.1)");
            delete file;
            return ANGIO_DCM_MALFORMED;
        }
        file->xfer = file->fileformat.getDataset()->getOriginalXfer();
        std::string uid = meta_xfer;
        if (uid.empty() && file->xfer != EXS_Unknown) uid = DcmXfer(file->xfer).getXferID();
        copy_message(file->info.transfer_syntax_uid, sizeof file->info.transfer_syntax_uid, uid);
        copy_message(file->info.transfer_syntax_name, sizeof file->info.transfer_syntax_name, xfer_name(file->xfer, uid));
        file->codec = codec_for(file->xfer, uid);
        if (!meta_xfer.empty() && DcmXfer(meta_xfer.c_str()).getXfer() == EXS_Unknown) {
            // A transfer syntax DCMTK 3.6.7 does not know (it then parses the data set as
            // explicit VR little endian). High-Throughput JPEG 2000 (PS3.5 A.4.11; UIDs
            // 1.2.840.10008.1.2.4.201/.202/.203) is decoded by OpenJPEG >= 2.5; others are refused.
            const bool htj2k = meta_xfer == "1.2.840.10008.1.2.4.201" || meta_xfer == "1.2.840.10008.1.2.4.202" ||
                               meta_xfer == "1.2.840.10008.1.2.4.203";
            file->codec = htj2k ? Codec::jpeg2000 : Codec::unsupported;
            const char *known = dcmFindNameOfUID(meta_xfer.c_str(), nullptr);
            copy_message(file->info.transfer_syntax_name, sizeof file->info.transfer_syntax_name, known ? known : "");
            if (htj2k) {
                copy_message(file->info.transfer_syntax_name, sizeof file->info.transfer_syntax_name,
                             meta_xfer == "1.2.840.10008.1.2.4.203" ? "High-Throughput JPEG 2000 Image Compression"
                             : meta_xfer == "1.2.840.10008.1.2.4.202"
                                 ? "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"
                                 : "High-Throughput JPEG 2000 Image Compression (Lossless Only)");
            }
        }

        angio_dcm_status status = ANGIO_DCM_OK;
        DcmElement *pixel_element = nullptr;
        const bool has_pixels = dataset_of(file)->findAndGetElement(DCM_PixelData, pixel_element, OFFalse).good();
        if (mode == ANGIO_DCM_OPEN_IMAGE && !has_pixels) {
            // Report the missing pixel data before complaining about the (then absent) pixel module.
            status = validate_pixel_data(file, max_pixel_bytes);
        }
        if (status == ANGIO_DCM_OK) status = read_pixel_module(file, mode == ANGIO_DCM_OPEN_IMAGE);
        if (status == ANGIO_DCM_OK && mode == ANGIO_DCM_OPEN_IMAGE) {
            if (file->codec == Codec::unsupported) {
                std::string name = file->info.transfer_syntax_name;
                status = file->fail(ANGIO_DCM_UNSUPPORTED_TRANSFER_SYNTAX,
                                    "transfer syntax " + (name.empty() ? std::string("(unknown)") : name) + " (" + uid +
                                        ") is not supported");
            } else {
                status = validate_pixel_data(file, max_pixel_bytes);
            }
        }
        if (status != ANGIO_DCM_OK) {
            copy_message(message, message_capacity, file->message);
            delete file;
            return status;
        }
        file->info.encapsulated = (file->codec != Codec::native && file->codec != Codec::unsupported) ? 1 : 0;
        file->image_valid = mode == ANGIO_DCM_OPEN_IMAGE;
        *out = file;
        return ANGIO_DCM_OK;
    } catch (const std::bad_alloc &) {
        delete file;
        copy_message(message, message_capacity, "out of memory while reading the data set");
        return ANGIO_DCM_IMAGE_TOO_LARGE;
    } catch (...) {
        delete file;
        copy_message(message, message_capacity, "unexpected error while reading the data set");
        return ANGIO_DCM_MALFORMED;
    }
}

void angio_dcm_close(angio_dcm_file *file) {
    try {
        delete file;
    } catch (...) {
    }
}

const char *angio_dcm_message(const angio_dcm_file *file) { return file ? file->message.c_str() : ""; }

angio_dcm_status angio_dcm_image_info_get(const angio_dcm_file *file, angio_dcm_image_info *info) {
    if (file == nullptr || info == nullptr) return ANGIO_DCM_INVALID_ARGUMENT;
    *info = file->info;
    return ANGIO_DCM_OK;
}

int angio_dcm_get_string(const angio_dcm_file *file, uint16_t sequence_group, uint16_t sequence_element,
                         uint32_t item_index, uint16_t group, uint16_t element, char *buffer, size_t capacity) {
    if (file == nullptr) return 0;
    try {
        DcmItem *item = nullptr;
        if (group == 0x0002 && sequence_group == 0) {
            item = const_cast<DcmFileFormat &>(file->fileformat).getMetaInfo();
        } else if (sequence_group != 0) {
            DcmItem *found = nullptr;
            if (dataset_of(file)
                    ->findAndGetSequenceItem(DcmTagKey(sequence_group, sequence_element), found,
                                             static_cast<int>(item_index))
                    .bad())
                return 0;
            item = found;
        } else {
            item = dataset_of(file);
        }
        if (item == nullptr) return 0;
        DcmElement *elem = nullptr;
        if (item->findAndGetElement(DcmTagKey(group, element), elem, OFFalse).bad() || elem == nullptr) return 0;
        OFString value;
        if (elem->getLength() > 65536) {
            copy_message(buffer, capacity, "");
            return 1;
        }
        if (elem->getOFStringArray(value, OFTrue).bad()) value.clear();
        copy_message(buffer, capacity, trim(value.c_str()));
        return 1;
    } catch (...) {
        return 0;
    }
}

uint32_t angio_dcm_sequence_item_count(const angio_dcm_file *file, uint16_t group, uint16_t element) {
    if (file == nullptr) return 0;
    try {
        DcmSequenceOfItems *seq = nullptr;
        if (dataset_of(file)->findAndGetSequence(DcmTagKey(group, element), seq, OFFalse).bad() || seq == nullptr)
            return 0;
        return static_cast<uint32_t>(seq->card());
    } catch (...) {
        return 0;
    }
}

size_t angio_dcm_get_uint16_values(const angio_dcm_file *file, uint16_t group, uint16_t element, uint16_t *values,
                                   size_t capacity) {
    if (file == nullptr) return 0;
    try {
        DcmElement *elem = nullptr;
        if (dataset_of(file)->findAndGetElement(DcmTagKey(group, element), elem, OFFalse).bad() || elem == nullptr)
            return 0;
        Uint32 bytes = elem->getLength();
        if (bytes > (1u << 24)) return 0;  // LUTs are at most 65536 entries
        DcmEVR vr = elem->getVR();
        if (vr == EVR_US || vr == EVR_SS || vr == EVR_OW || vr == EVR_xs || vr == EVR_lt || vr == EVR_ox) {
            std::vector<Uint16> raw(bytes / 2 + 1);
            DcmFileCache cache;
            if (bytes >= 2 && elem->getPartialValue(raw.data(), 0, bytes & ~1u, &cache, gLocalByteOrder).good()) {
                size_t count = bytes / 2;
                if (values != nullptr) memcpy(values, raw.data(), std::min(count, capacity) * 2);
                return count;
            }
        }
        return 0;
    } catch (...) {
        return 0;
    }
}

angio_dcm_status angio_dcm_decode_frame(angio_dcm_file *file, uint32_t frame_index, int32_t *values, size_t capacity,
                                        char *color_model, size_t color_model_capacity) {
    if (file == nullptr || values == nullptr) return ANGIO_DCM_INVALID_ARGUMENT;
    try {
        if (!file->image_valid) return file->fail(ANGIO_DCM_INVALID_ARGUMENT, "file was opened for metadata only");
        const angio_dcm_image_info &info = file->info;
        if (frame_index >= info.frames) {
            return file->fail(ANGIO_DCM_FRAME_OUT_OF_RANGE, "frame " + std::to_string(frame_index) +
                                                                " does not exist (the file has " +
                                                                std::to_string(info.frames) + " frame(s))");
        }
        const size_t needed = static_cast<size_t>(info.rows) * info.columns * info.samples_per_pixel;
        if (capacity < needed) return file->fail(ANGIO_DCM_INVALID_ARGUMENT, "output buffer too small");
        std::string model;
        angio_dcm_status status;
        if (file->codec == Codec::jpeg2000) {
            status = build_fragment_table(file);
            if (status == ANGIO_DCM_OK) status = decode_jpeg2000(file, frame_index, values, model);
        } else {
            status = decode_with_dcmtk(file, frame_index, values, model);
        }
        if (status == ANGIO_DCM_OK) copy_message(color_model, color_model_capacity, model);
        return status;
    } catch (const std::bad_alloc &) {
        return file->fail(ANGIO_DCM_IMAGE_TOO_LARGE, "out of memory while decoding a frame");
    } catch (...) {
        return file->fail(ANGIO_DCM_DECODE_FAILED, "unexpected error while decoding a frame");
    }
}

// ---- Writer -----------------------------------------------------------------------------

angio_dcm_status angio_dcm_write_xa(const angio_dcm_xa_request *request, const char *path, char *message,
                                    size_t message_capacity) {
    if (request == nullptr || path == nullptr) return ANGIO_DCM_INVALID_ARGUMENT;
    angio_dcm_status init = angio_dcm_initialize(message, message_capacity);
    if (init != ANGIO_DCM_OK) return init;
    const angio_dcm_xa_request &r = *request;
    auto fail = [&](angio_dcm_status status, const std::string &text) {
        copy_message(message, message_capacity, text);
        return status;
    };
    if (r.rows == 0 || r.columns == 0 || r.rows > 65535 || r.columns > 65535 || r.frames == 0 ||
        r.pixels == nullptr) {
        return fail(ANGIO_DCM_INVALID_ARGUMENT, "invalid image geometry or no pixels");
    }
    if (r.bits_stored < 8 || r.bits_stored > 16) {
        return fail(ANGIO_DCM_INVALID_ARGUMENT, "Bits Stored must be 8...16");
    }
    std::string photometric = r.photometric ? r.photometric : "MONOCHROME2";
    if (photometric != "MONOCHROME1" && photometric != "MONOCHROME2") {
        return fail(ANGIO_DCM_INVALID_ARGUMENT, "photometric must be MONOCHROME1 or MONOCHROME2");
    }
    const unsigned bits_allocated = r.bits_stored <= 8 ? 8 : 16;
    E_TransferSyntax target;
    DcmRepresentationParameter *parameter = nullptr;
    DJ_RPLossless lossless_sv1(1, 0);
    DJ_RPLossy lossy(static_cast<int>(std::min<uint32_t>(std::max<uint32_t>(r.jpeg_quality, 1), 100)));
    DJLSRepresentationParameter jls_lossless(0, OFTrue);
    DJLSRepresentationParameter jls_near(static_cast<Uint16>(std::max<uint32_t>(r.jpeg_ls_near, 1)), OFFalse);
    bool lossy_output = false;
    switch (r.syntax) {
    case ANGIO_DCM_WRITE_EXPLICIT_LE: target = EXS_LittleEndianExplicit; break;
    case ANGIO_DCM_WRITE_IMPLICIT_LE: target = EXS_LittleEndianImplicit; break;
    case ANGIO_DCM_WRITE_RLE: target = EXS_RLELossless; break;
    case ANGIO_DCM_WRITE_JPEG_LOSSLESS_SV1: target = EXS_JPEGProcess14SV1; parameter = &lossless_sv1; break;
    case ANGIO_DCM_WRITE_JPEG_LS_LOSSLESS: target = EXS_JPEGLSLossless; parameter = &jls_lossless; break;
    case ANGIO_DCM_WRITE_JPEG_LS_NEAR_LOSSLESS:
        target = EXS_JPEGLSLossy; parameter = &jls_near; lossy_output = true; break;
    case ANGIO_DCM_WRITE_JPEG_BASELINE:
        if (r.bits_stored != 8) return fail(ANGIO_DCM_INVALID_ARGUMENT, "JPEG baseline needs Bits Stored 8");
        target = EXS_JPEGProcess1; parameter = &lossy; lossy_output = true; break;
    case ANGIO_DCM_WRITE_JPEG_EXTENDED:
        // DCMTK's lossy encoder renders other depths onto the 12-bit range (and rewrites Bits
        // Stored), which would silently change the stored values: accept 12 bits only.
        if (r.bits_stored != 12) return fail(ANGIO_DCM_INVALID_ARGUMENT, "JPEG extended needs Bits Stored 12");
        target = EXS_JPEGProcess2_4; parameter = &lossy; lossy_output = true; break;
    default: return fail(ANGIO_DCM_INVALID_ARGUMENT, "unknown transfer syntax");
    }

    try {
        DcmFileFormat fileformat;
        DcmDataset *ds = fileformat.getDataset();
        char uid[100];
        auto put = [&](const DcmTagKey &key, const std::string &value) { return ds->putAndInsertString(key, value.c_str()); };
        // XA Image IOD (PS3.3 A.14) essentials; caller attributes below may override any of them.
        put(DCM_SOPClassUID, UID_XRayAngiographicImageStorage);
        put(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
        put(DCM_StudyInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_STUDY_UID_ROOT));
        put(DCM_SeriesInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT));
        put(DCM_Modality, "XA");
        put(DCM_ImageType, "DERIVED\\SECONDARY\\SINGLE PLANE");
        put(DCM_PatientName, "");
        put(DCM_PatientID, "");
        put(DCM_PatientBirthDate, "");
        put(DCM_PatientSex, "");
        put(DCM_StudyDate, "");
        put(DCM_StudyTime, "");
        put(DCM_ReferringPhysicianName, "");
        put(DCM_StudyID, "");
        put(DCM_AccessionNumber, "");
        put(DCM_SeriesNumber, "1");
        put(DCM_InstanceNumber, "1");
        put(DCM_Manufacturer, "");
        put(DCM_KVP, "");
        put(DCM_PixelIntensityRelationship, "LIN");
        put(DCM_PositionerMotion, "");
        ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
        put(DCM_PhotometricInterpretation, photometric);
        ds->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(r.rows));
        ds->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(r.columns));
        ds->putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(bits_allocated));
        ds->putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(r.bits_stored));
        ds->putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(r.bits_stored - 1));
        ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
        put(DCM_NumberOfFrames, std::to_string(r.frames));
        if (lossy_output) put(DCM_LossyImageCompression, "01");

        bool has_frame_time = false, has_frame_vector = false, has_fip = false;
        for (size_t i = 0; i < r.attribute_count; ++i) {
            const angio_dcm_attribute &a = r.attributes[i];
            if (a.vr == nullptr || strlen(a.vr) != 2 || a.value == nullptr) {
                return fail(ANGIO_DCM_INVALID_ARGUMENT, "attribute " + describe_tag(DcmTagKey(a.group, a.element)) +
                                                            " has no VR or value");
            }
            DcmTagKey key(a.group, a.element);
            if (a.group == 0x7FE0 || (a.group == 0x0028 && (a.element == 0x0010 || a.element == 0x0011 ||
                                                            a.element == 0x0100 || a.element == 0x0101 ||
                                                            a.element == 0x0102 || a.element == 0x0103 ||
                                                            a.element == 0x0002 || a.element == 0x0008))) {
                return fail(ANGIO_DCM_INVALID_ARGUMENT,
                            "attribute " + describe_tag(key) + " is set by the writer from the request");
            }
            DcmVR vr(a.vr);
            if (vr.getEVR() == EVR_SQ || vr.getEVR() == EVR_UNKNOWN || vr.getEVR() == EVR_UNKNOWN2B) {
                return fail(ANGIO_DCM_INVALID_ARGUMENT, "attribute " + describe_tag(key) + ": VR '" + a.vr +
                                                            "' is not supported by the writer");
            }
            DcmTag tag(key, vr);
            DcmElement *elem = DcmItem::newDicomElement(tag);
            if (elem == nullptr) {
                return fail(ANGIO_DCM_INVALID_ARGUMENT, "attribute " + describe_tag(key) + " cannot be created");
            }
            OFCondition c = elem->putString(a.value);
            if (c.good()) c = ds->insert(elem, OFTrue /* replace */);
            else delete elem;
            if (c.bad()) {
                return fail(ANGIO_DCM_INVALID_ARGUMENT, "attribute " + describe_tag(key) + ": " + c.text());
            }
            if (key == DCM_FrameTime) has_frame_time = true;
            if (key == DCM_FrameTimeVector) has_frame_vector = true;
            if (key == DCM_FrameIncrementPointer) has_fip = true;
        }
        // Multi-frame module (PS3.3 C.7.6.6): Frame Increment Pointer names the Cine module
        // (C.7.6.5) timing attribute the caller supplied.
        if (r.frames > 1 && !has_fip && (has_frame_time || has_frame_vector)) {
            ds->putAndInsertTagKey(DCM_FrameIncrementPointer, has_frame_time ? DCM_FrameTime : DCM_FrameTimeVector);
        }

        // Native pixel data, little endian; OB for 8-bit, OW for 16-bit (PS3.5 8.2).
        const size_t per_frame = static_cast<size_t>(r.rows) * r.columns;
        const size_t count = per_frame * r.frames;
        const uint32_t max_value = (1u << r.bits_stored) - 1;
        if (bits_allocated == 8) {
            std::vector<Uint8> bytes(count + (count & 1));
            for (size_t i = 0; i < count; ++i) {
                if (r.pixels[i] > max_value) return fail(ANGIO_DCM_INVALID_ARGUMENT, "pixel value exceeds Bits Stored");
                bytes[i] = static_cast<Uint8>(r.pixels[i]);
            }
            OFCondition c = ds->putAndInsertUint8Array(DCM_PixelData, bytes.data(), static_cast<unsigned long>(count));
            if (c.bad()) return fail(ANGIO_DCM_WRITE_FAILED, std::string("cannot store pixel data: ") + c.text());
        } else {
            for (size_t i = 0; i < count; ++i) {
                if (r.pixels[i] > max_value) return fail(ANGIO_DCM_INVALID_ARGUMENT, "pixel value exceeds Bits Stored");
            }
            OFCondition c = ds->putAndInsertUint16Array(DCM_PixelData, r.pixels, static_cast<unsigned long>(count));
            if (c.bad()) return fail(ANGIO_DCM_WRITE_FAILED, std::string("cannot store pixel data: ") + c.text());
        }

        if (target != EXS_LittleEndianExplicit && target != EXS_LittleEndianImplicit) {
            // DCMTK's lossy JPEG encoder rewrites the X-Ray / Modality LUT / VOI LUT attributes
            // on the assumption that it re-rendered the pixels (XA: Pixel Intensity Relationship
            // "DISP"; rescale removed; windows "corrected"). The encoder is configured not to
            // re-render (see angio_dcm_initialize), so keep the caller's values: take them out
            // of the dataset for the encode (DicomImage then sees raw stored values) and put
            // them back afterwards.
            const bool jpeg_lossy = target == EXS_JPEGProcess1 || target == EXS_JPEGProcess2_4;
            std::vector<std::unique_ptr<DcmElement>> kept;
            if (jpeg_lossy) {
                const DcmTagKey keys[] = {DCM_PixelIntensityRelationship, DCM_RescaleIntercept, DCM_RescaleSlope,
                                          DCM_RescaleType, DCM_WindowCenter, DCM_WindowWidth,
                                          DCM_WindowCenterWidthExplanation};
                for (const DcmTagKey &key : keys) {
                    if (DcmElement *removed = ds->remove(key)) kept.emplace_back(removed);
                }
            }
            OFCondition c = ds->chooseRepresentation(target, parameter);
            if (c.bad() || !ds->canWriteXfer(target)) {
                return fail(ANGIO_DCM_WRITE_FAILED, std::string("cannot encode as ") + DcmXfer(target).getXferName() +
                                                        ": " + c.text());
            }
            if (jpeg_lossy) {
                for (auto &element : kept) {
                    OFCondition restored = ds->insert(element.get(), OFTrue /* replace */);
                    if (restored.bad()) {
                        return fail(ANGIO_DCM_WRITE_FAILED, std::string("cannot restore ") +
                                                                describe_tag(element->getTag()) + ": " +
                                                                restored.text());
                    }
                    element.release();  // now owned by the dataset
                }
                // Never leave DCMTK's "DISP" (the pixels were not rendered for display).
                OFString relationship;
                if (ds->findAndGetOFString(DCM_PixelIntensityRelationship, relationship).bad() ||
                    relationship == "DISP") {
                    put(DCM_PixelIntensityRelationship, "LIN");
                }
            }
            if (lossy_output) {
                // The encoder records the method; keep the Lossy flag explicit (PS3.3 C.7.6.1.1.5).
                put(DCM_LossyImageCompression, "01");
            }
        }

        // Write to a temporary file in the same folder, then rename (atomic replacement).
        std::string temp = std::string(path) + ".tmp-" + std::to_string(getpid()) + "-" +
                           std::to_string(reinterpret_cast<uintptr_t>(&fileformat) & 0xFFFFFF);
        OFCondition c = fileformat.saveFile(temp.c_str(), target, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0,
                                            EWM_createNewMeta);
        if (c.bad()) {
            unlink(temp.c_str());
            return fail(ANGIO_DCM_WRITE_FAILED, std::string("cannot write: ") + c.text());
        }
        if (rename(temp.c_str(), path) != 0) {
            int err = errno;
            unlink(temp.c_str());
            return fail(ANGIO_DCM_WRITE_FAILED, std::string("cannot move the file into place: ") + strerror(err));
        }
        return ANGIO_DCM_OK;
    } catch (const std::bad_alloc &) {
        return fail(ANGIO_DCM_WRITE_FAILED, "out of memory while writing");
    } catch (...) {
        return fail(ANGIO_DCM_WRITE_FAILED, "unexpected error while writing");
    }
}

}  // extern "C"

/* angio_dcm.h: the C interface of the DICOM shim, the only code that sees DCMTK and OpenJPEG.
 *
 * Conventions
 * - Opaque handles (angio_dcm_file); one handle is used by one thread at a time. Frames of one
 *   file are decoded in parallel by opening one handle per worker (opening reads metadata only
 *   and leaves pixel data on disk, so extra handles are cheap).
 * - Every call returns an angio_dcm_status; on failure a human-readable cause is available from
 *   angio_dcm_message(handle) or, where no handle exists yet, written into a caller buffer.
 * - No C++ exception ever crosses this boundary.
 */
#ifndef ANGIO_DCM_H
#define ANGIO_DCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Closed set of outcomes; mirrored one-to-one by DICOMError.Code on the Swift side. */
typedef enum angio_dcm_status {
    ANGIO_DCM_OK = 0,
    ANGIO_DCM_NOT_DICOM = 1,
    ANGIO_DCM_TRUNCATED = 2,
    ANGIO_DCM_MALFORMED = 3,
    ANGIO_DCM_NO_PIXEL_DATA = 4,
    ANGIO_DCM_UNSUPPORTED_TRANSFER_SYNTAX = 5,
    ANGIO_DCM_UNSUPPORTED_PHOTOMETRIC = 6,
    ANGIO_DCM_SIZE_INCONSISTENT = 7,
    ANGIO_DCM_IMAGE_TOO_LARGE = 8,
    ANGIO_DCM_DECODE_FAILED = 9,
    ANGIO_DCM_DICTIONARY_MISSING = 10,
    ANGIO_DCM_IO_ERROR = 11,
    ANGIO_DCM_FRAME_OUT_OF_RANGE = 12,
    ANGIO_DCM_WRITE_FAILED = 13,
    ANGIO_DCM_INVALID_ARGUMENT = 14
} angio_dcm_status;

typedef struct angio_dcm_file angio_dcm_file;

/* What the pixel module declares, after validation (PS3.3 C.7.6.3). */
typedef struct angio_dcm_image_info {
    uint32_t rows;
    uint32_t columns;
    uint32_t frames;               /* Number of Frames (0028,0008), 1 when absent */
    uint32_t bits_allocated;       /* 8, 16 or 32 */
    uint32_t bits_stored;
    uint32_t high_bit;
    uint32_t pixel_representation; /* 0 unsigned, 1 two's complement */
    uint32_t samples_per_pixel;    /* 1 or 3 */
    uint32_t planar_configuration;
    uint32_t encapsulated;         /* 1 when the pixel data is compressed */
    char photometric[32];          /* as declared, e.g. MONOCHROME2, YBR_FULL_422 */
    char transfer_syntax_uid[72];  /* empty when none could be determined */
    char transfer_syntax_name[72];
} angio_dcm_image_info;

/* Opening modes. METADATA parses everything but the pixel data and never fails on pixel
 * problems; IMAGE additionally validates the pixel module, transfer syntax and declared size. */
typedef enum angio_dcm_open_mode {
    ANGIO_DCM_OPEN_METADATA = 0,
    ANGIO_DCM_OPEN_IMAGE = 1
} angio_dcm_open_mode;

/* Library/dictionary initialisation; idempotent and thread-safe. Called by angio_dcm_open and
 * angio_dcm_write_xa. Returns ANGIO_DCM_DICTIONARY_MISSING when DCMTK has no data dictionary. */
angio_dcm_status angio_dcm_initialize(char *message, size_t message_capacity);

/* Opens `path`. Large element values (pixel data) stay on disk. `max_pixel_bytes` caps the
 * declared Rows x Columns x Frames x Samples x BitsAllocated/8 (IMAGE mode). On failure
 * `*out` is NULL and the cause is in `message`. */
angio_dcm_status angio_dcm_open(const char *path, angio_dcm_open_mode mode, uint64_t max_pixel_bytes,
                                angio_dcm_file **out, char *message, size_t message_capacity);
void angio_dcm_close(angio_dcm_file *file);

/* Message of the last failed call on this handle (owned by the handle). */
const char *angio_dcm_message(const angio_dcm_file *file);

/* Pixel module summary. In METADATA mode fields may be zero when absent. */
angio_dcm_status angio_dcm_image_info_get(const angio_dcm_file *file, angio_dcm_image_info *info);

/* Returns 1 and writes the value (all values joined by '\\', leading/trailing spaces removed)
 * when the attribute exists (possibly empty), 0 when absent. With `sequence_group` != 0 the
 * attribute is read from item `item_index` of that top-level sequence. Values longer than the
 * buffer are truncated (the result stays NUL terminated). Meta header (0002,xxxx) attributes
 * are found too. */
int angio_dcm_get_string(const angio_dcm_file *file, uint16_t sequence_group, uint16_t sequence_element,
                         uint32_t item_index, uint16_t group, uint16_t element,
                         char *buffer, size_t capacity);

/* Number of items of a top-level sequence; 0 when absent or empty. */
uint32_t angio_dcm_sequence_item_count(const angio_dcm_file *file, uint16_t group, uint16_t element);

/* Reads a top-level attribute as unsigned 16-bit values (US/SS/OW, e.g. palette LUT data,
 * PS3.3 C.7.6.3.1.6). Returns the number of values available (copying at most `capacity`),
 * 0 when absent. */
size_t angio_dcm_get_uint16_values(const angio_dcm_file *file, uint16_t group, uint16_t element,
                                   uint16_t *values, size_t capacity);

/* Decodes one frame (0-based) into `values`: stored values with the bits unpacked per Bits
 * Stored / High Bit and sign extended when Pixel Representation is 1, samples interleaved
 * (planar data is re-interleaved). `capacity` counts int32 values and must be at least
 * rows * columns * samples_per_pixel. `color_model` receives the photometric interpretation
 * of the decoded values (e.g. RGB after JPEG colour conversion; YBR_FULL for native 4:2:2
 * data, which is upsampled). Only that frame's compressed fragments (or native bytes) are read. */
angio_dcm_status angio_dcm_decode_frame(angio_dcm_file *file, uint32_t frame_index,
                                        int32_t *values, size_t capacity,
                                        char *color_model, size_t color_model_capacity);

/* ---- Writing (test fixtures and synthetic phantoms) ---- */

typedef enum angio_dcm_write_syntax {
    ANGIO_DCM_WRITE_EXPLICIT_LE = 0,
    ANGIO_DCM_WRITE_IMPLICIT_LE = 1,
    ANGIO_DCM_WRITE_RLE = 2,
    ANGIO_DCM_WRITE_JPEG_LOSSLESS_SV1 = 3,
    ANGIO_DCM_WRITE_JPEG_LS_LOSSLESS = 4,
    ANGIO_DCM_WRITE_JPEG_LS_NEAR_LOSSLESS = 5,
    ANGIO_DCM_WRITE_JPEG_BASELINE = 6,
    ANGIO_DCM_WRITE_JPEG_EXTENDED = 7
} angio_dcm_write_syntax;

typedef struct angio_dcm_attribute {
    uint16_t group;
    uint16_t element;
    const char *vr;     /* two letters, e.g. "DS" */
    const char *value;  /* multi-valued with '\\' */
} angio_dcm_attribute;

typedef struct angio_dcm_xa_request {
    uint32_t rows;
    uint32_t columns;
    uint32_t frames;
    uint32_t bits_stored;        /* 8...16; Bits Allocated is 8 when bits_stored <= 8, else 16 */
    const char *photometric;     /* MONOCHROME1 or MONOCHROME2 */
    const uint16_t *pixels;      /* frames * rows * columns values, frame after frame */
    angio_dcm_write_syntax syntax;
    uint32_t jpeg_quality;       /* 1...100 for lossy JPEG */
    uint32_t jpeg_ls_near;       /* NEAR for JPEG-LS near-lossless (PS3.5 A.4.3) */
    const angio_dcm_attribute *attributes; /* override/extend the generated attributes */
    size_t attribute_count;
} angio_dcm_xa_request;

/* Writes an XA multi-frame image (SOP Class 1.2.840.10008.5.1.4.1.1.12.1) with file meta
 * information, atomically (temporary file + rename). */
angio_dcm_status angio_dcm_write_xa(const angio_dcm_xa_request *request, const char *path,
                                    char *message, size_t message_capacity);

#ifdef __cplusplus
}
#endif
#endif

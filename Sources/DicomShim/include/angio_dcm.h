/* angio_dcm.h: C interface of the DCMTK/OpenJPEG shim. Placeholder until the decoder lands. */
#ifndef ANGIO_DCM_H
#define ANGIO_DCM_H
#ifdef __cplusplus
extern "C" {
#endif
int angio_dcm_version(void);
#ifdef __cplusplus
}
#endif
#endif

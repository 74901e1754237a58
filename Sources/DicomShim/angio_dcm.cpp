#include "dcmtk/config/osconfig.h"
#include "angio_dcm.h"
extern "C" int angio_dcm_version(void) { return 1; }

// QCustomPlot's header for the tests: it uses Qt's keywords, which tests turn
// off (QT_NO_KEYWORDS).
#pragma once
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach

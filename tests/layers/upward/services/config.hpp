// Services may include base: allowed.
#pragma once
#include "base/upward.hpp"

// A base header that reaches up into services: what check_layers must refuse.
#pragma once
#include "services/config.hpp"

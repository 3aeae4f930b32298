// The PostgreSQL backend of sql::database (libpq).
#pragma once

#include <memory>
#include <string>

#include "actors/storage/database.hpp"

namespace weaver::sql {

/// Connects to a libpq URI ("postgresql://user@host:port/db?sslmode=...").
/// Throws std::runtime_error with libpq's message when it cannot connect.
std::unique_ptr<database> open_postgres(const std::string& uri);

/// Rewrites the positional parameters ?1..?N of portable SQL to PostgreSQL's
/// $1..$N. Text inside string literals ('...', E'...', $tag$...$tag$),
/// quoted identifiers ("...") and comments is left untouched, as is a '?'
/// not followed by a digit (jsonb operators). Exposed for the unit tests.
std::string pg_placeholders(const std::string& text);

/// `uri` without its password (the ":password@" of the user info and any
/// "password=" query parameter), for messages and describe().
std::string pg_redact_uri(const std::string& uri);

} // namespace weaver::sql

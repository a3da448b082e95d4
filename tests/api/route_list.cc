// Prints the API's route table, the testing clock's route included, one route a line as
// "METHOD PATTERN" (e.g. "GET /api/v1/runs/{run_id}"). The route × principal matrix
// (tests/e2e/test_route_matrix.py) reads it so that a route without a row in the
// matrix's expected data fails the matrix; it is a test tool, not part of the server.
#include <iostream>

#include "api/api.h"

int main() {
  for (const sw::Route& route : sw::ApiRoutes(/*fake_clock=*/true)) {
    std::cout << route.method << ' ' << route.pattern << '\n';
  }
  return std::cout.good() ? 0 : 1;
}

/** GET /v1/slots: list-slots. */
import { runListSlots } from "../../core/list-slots.js";
import { defineRoute } from "../route.js";
import { SLOTS_QUERY, SLOTS_RESPONSE } from "../schemas.js";

export const slotRoutes = [
  defineRoute<never, { all?: boolean }>({
    method: "GET",
    url: "/v1/slots",
    operationId: "listSlots",
    summary: "Slots with a token (every slot with ?all=true), as tsp11 list-slots --json",
    tag: "slots",
    status: 200,
    query: SLOTS_QUERY,
    response: SLOTS_RESPONSE,
    async handler(request, { tokens }) {
      return tokens.shared((module) => runListSlots(module, request.query.all === true));
    },
  }),
];

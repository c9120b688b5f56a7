/** A zod schema as JSON Schema, for schema.json and the generated docs: one reading of the schemas. */
import { z } from "zod";

export type JsonSchema = Record<string, unknown>;

export function describe(schema: z.ZodTypeAny): { schema: JsonSchema; required: boolean } {
    const def = schema._def as { typeName: string } & Record<string, unknown>;
    switch (def.typeName) {
        case "ZodOptional":
            return { schema: describe(def.innerType as z.ZodTypeAny).schema, required: false };
        case "ZodDefault":
            return { schema: { ...describe(def.innerType as z.ZodTypeAny).schema, default: (def.defaultValue as () => unknown)() }, required: false };
        case "ZodEffects":
            return describe(def.schema as z.ZodTypeAny);
        case "ZodString":
            return { schema: { type: "string" }, required: true };
        case "ZodNumber":
            return { schema: { type: "number" }, required: true };
        case "ZodBoolean":
            return { schema: { type: "boolean" }, required: true };
        case "ZodLiteral":
            return { schema: { type: typeof def.value, const: def.value }, required: true };
        case "ZodEnum":
            return { schema: { type: "string", enum: def.values }, required: true };
        case "ZodArray":
            return { schema: { type: "array", items: describe(def.type as z.ZodTypeAny).schema }, required: true };
        case "ZodRecord":
            return { schema: { type: "object", additionalProperties: describe(def.valueType as z.ZodTypeAny).schema }, required: true };
        case "ZodUnion":
            return { schema: { oneOf: (def.options as z.ZodTypeAny[]).map((o) => describe(o).schema) }, required: true };
        case "ZodObject": {
            const shape = (schema as z.ZodObject<z.ZodRawShape>).shape;
            const properties: Record<string, JsonSchema> = {};
            const required: string[] = [];
            for (const [key, value] of Object.entries(shape)) {
                const d = describe(value as z.ZodTypeAny);
                properties[key] = d.schema;
                if (d.required) required.push(key);
            }
            return { schema: { type: "object", properties, ...(required.length ? { required } : {}) }, required: true };
        }
        default:
            return { schema: {}, required: true };
    }
}


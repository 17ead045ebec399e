/**
 * A leaf that is exactly one expression ending in `| int`, `| float`, `| bool` or
 * `| fromJson` yields that type, not a string (Lynq's typed-value idiom:
 * `replicas: "{{ replicas | int }}"`). Group 1 is the expression, group 2 the filter.
 */
export const TYPED_LEAF = /^\s*\{\{-?\s*([\s\S]+?)\s*\|\s*(int|float|bool|fromJson)\s*-?\}\}\s*$/;

/** The filter that gives a schema type (`integer` → `int`), for a leaf whose field wants one. */
export const FILTER_FOR_TYPE: Readonly<Record<string, string>> = { integer: 'int', number: 'float', boolean: 'bool' };
